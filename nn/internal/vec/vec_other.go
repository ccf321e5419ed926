//go:build !(amd64 || arm64) || purego

package vec

// fast is false off amd64 and arm64: every loop runs in Go (and wide, AVX-512, too).
var fast, wide = false, false

func relu(y, x *float32, n int)                        { panic("vec: no AVX-512 here") }
func reluGrad(dx, x, dy *float32, n int)               { panic("vec: no AVX-512 here") }
func add(y, a, b *float32, n int)                      { panic("vec: no AVX-512 here") }
func affine(y, x *float32, n int, a, b float32)        { panic("vec: no AVX-512 here") }
func affine2(y, x, d *float32, n int, a, b, c float32) { panic("vec: no AVX-512 here") }
func sums(a, b *float32, n int) (sa, sab float64)      { panic("vec: no AVX-512 here") }

func copyRows512(dst, src *float32, rows, w, dstStride, srcStride int) { panic("vec: no AVX-512 here") }

func axpy(y, x *float32, n int, a float32) { panic("vec: no assembly here") }
func dot(x, y *float32, n int) float32     { panic("vec: no assembly here") }
