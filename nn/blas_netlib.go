//go:build netlib

package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// blasImpl is OpenBLAS through cgo: build with
//
//	CGO_LDFLAGS=-lopenblas go build -tags netlib
//
// after apt-get install libopenblas-dev. Set OPENBLAS_NUM_THREADS=1 when trials train
// in parallel: the batch is already split across cores here.
var blasImpl blas.Float32Level3 = netlib.Implementation{}

// BLAS names the matrix-multiply implementation in use.
const BLAS = "OpenBLAS (netlib)"
