//go:build !purego

package vec

import "cellar/nn/internal/cpulevel"

// fast says whether the NEON loops of vec_arm64.s run: on every arm64 CPU, unless
// CELLAR_CPU=generic holds nn to the Go loops. wide (AVX-512) never is.
var (
	fast = cpulevel.Current.AtLeast(cpulevel.NEON)
	wide = false
)

//go:noescape
func relu(y, x *float32, n int)

//go:noescape
func reluGrad(dx, x, dy *float32, n int)

//go:noescape
func add(y, a, b *float32, n int)

//go:noescape
func affine(y, x *float32, n int, a, b float32)

//go:noescape
func affine2(y, x, d *float32, n int, a, b, c float32)

//go:noescape
func sums(a, b *float32, n int) (sa, sab float64)

//go:noescape
func axpy(y, x *float32, n int, a float32)

//go:noescape
func dot(x, y *float32, n int) float32

// copyRows512 is AVX-512's; CopyRows copies in Go here (wide is false).
func copyRows512(dst, src *float32, rows, w, dstStride, srcStride int) {
	panic("vec: no AVX-512 here")
}
