//go:build !purego

package vec

import "cellar/nn/internal/cpulevel"

// fast says whether the assembly runs (AVX-512 from vec_amd64.s, or AVX2 with FMA
// from vec_avx2_amd64.s; see cpulevel, which CELLAR_CPU can hold lower); wide picks
// AVX-512.
var (
	fast = cpulevel.Current.AtLeast(cpulevel.AVX2)
	wide = cpulevel.Current.AtLeast(cpulevel.AVX512)
)

//go:noescape
func relu512(y, x *float32, n int)

//go:noescape
func reluGrad512(dx, x, dy *float32, n int)

//go:noescape
func add512(y, a, b *float32, n int)

//go:noescape
func affine512(y, x *float32, n int, a, b float32)

//go:noescape
func affine2512(y, x, d *float32, n int, a, b, c float32)

//go:noescape
func sums512(a, b *float32, n int) (sa, sab float64)

//go:noescape
func copyRows512(dst, src *float32, rows, w, dstStride, srcStride int)

//go:noescape
func relu256(y, x *float32, n int)

//go:noescape
func reluGrad256(dx, x, dy *float32, n int)

//go:noescape
func add256(y, a, b *float32, n int)

//go:noescape
func affine256(y, x *float32, n int, a, b float32)

//go:noescape
func affine2256(y, x, d *float32, n int, a, b, c float32)

//go:noescape
func sums256(a, b *float32, n int) (sa, sab float64)

func relu(y, x *float32, n int) {
	if wide {
		relu512(y, x, n)
	} else {
		relu256(y, x, n)
	}
}

func reluGrad(dx, x, dy *float32, n int) {
	if wide {
		reluGrad512(dx, x, dy, n)
	} else {
		reluGrad256(dx, x, dy, n)
	}
}

func add(y, a, b *float32, n int) {
	if wide {
		add512(y, a, b, n)
	} else {
		add256(y, a, b, n)
	}
}

func affine(y, x *float32, n int, a, b float32) {
	if wide {
		affine512(y, x, n, a, b)
	} else {
		affine256(y, x, n, a, b)
	}
}

func affine2(y, x, d *float32, n int, a, b, c float32) {
	if wide {
		affine2512(y, x, d, n, a, b, c)
	} else {
		affine2256(y, x, d, n, a, b, c)
	}
}

func sums(a, b *float32, n int) (sa, sab float64) {
	if wide {
		return sums512(a, b, n)
	}
	return sums256(a, b, n)
}

//go:noescape
func axpy512(y, x *float32, n int, a float32)

//go:noescape
func dot512(x, y *float32, n int) float32

//go:noescape
func axpy256(y, x *float32, n int, a float32)

//go:noescape
func dot256(x, y *float32, n int) float32

func axpy(y, x *float32, n int, a float32) {
	if wide {
		axpy512(y, x, n, a)
	} else {
		axpy256(y, x, n, a)
	}
}

func dot(x, y *float32, n int) float32 {
	if wide {
		return dot512(x, y, n)
	}
	return dot256(x, y, n)
}
