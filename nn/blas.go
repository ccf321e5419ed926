//go:build !netlib

package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// blasImpl is the pure-Go BLAS; build with -tags netlib for OpenBLAS (see blas_netlib.go).
var blasImpl blas.Float32Level3 = gonum.Implementation{}

// BLAS names the matrix-multiply implementation in use.
const BLAS = "gonum (pure Go)"
