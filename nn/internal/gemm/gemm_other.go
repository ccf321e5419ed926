//go:build !(amd64 || arm64) || purego

package gemm

// Available is false off amd64: convolutions use im2col and the BLAS (and avx512,
// the AVX-512 kernels, is false too).
const Available, avx512 = false, false

func kern8x48(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool) {
	panic("gemm: kern8x48 needs amd64 with AVX-512")
}

func dot4x4(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int) {
	panic("gemm: dot4x4 needs amd64 with AVX-512")
}
