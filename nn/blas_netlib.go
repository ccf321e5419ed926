//go:build netlib

package nn

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// blasImpl is OpenBLAS through cgo: build with
//
//	CGO_LDFLAGS=-lopenblas go build -tags netlib
//
// after apt-get install libopenblas-dev.
var blasImpl blas.Float32Level3 = netlib.Implementation{}

// BLAS names the matrix-multiply implementation in use.
const BLAS = "OpenBLAS (netlib)"

// OpenBLAS runs single-threaded: nn already splits each batch across the cores, and
// several trials train at once, so OpenBLAS threads on top would oversubscribe them.
func init() { C.openblas_set_num_threads(1) }
