//go:build !purego

package vec

import "golang.org/x/sys/cpu"

// fast says whether this CPU runs vec_amd64.s (AVX-512 F, DQ and VL with the OS
// saving the registers; x/sys/cpu checks both).
var fast = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL

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
func copyRows(dst, src *float32, rows, w, dstStride, srcStride int)
