//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

// Available says whether this CPU runs the AVX-512 kernels of gemm_amd64.s
// (AVX-512 F, DQ and VL, with the OS saving the registers; x/sys/cpu checks both).
var Available = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL

//go:noescape
func kern8x48(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool)

//go:noescape
func dot4x4(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int)
