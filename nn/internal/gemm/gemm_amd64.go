//go:build !purego

package gemm

import (
	"unsafe"

	"cellar/nn/internal/cpulevel"
)

// Available says whether this CPU runs the kernels: AVX-512 (gemm_amd64.s) or AVX2
// with FMA (gemm_avx2_amd64.s), as cpulevel.Current says.
var Available = cpulevel.Current.AtLeast(cpulevel.AVX2)

// avx512 picks the AVX-512 kernels over the AVX2 ones.
var avx512 = cpulevel.Current.AtLeast(cpulevel.AVX512)

//go:noescape
func kern8x48avx512(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool)

//go:noescape
func dot4x4avx512(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int)

//go:noescape
func kern4x24avx2(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool)

//go:noescape
func dot4x2avx2(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int)

// kern8x48: C[i][j] (+)= sum over r<k of A[r][i] * b[off[r]+j], for i<8, j<48 (see
// gemm_amd64.s). With AVX2, four 4x24 tiles.
func kern8x48(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool) {
	if avx512 {
		kern8x48avx512(k, a, b, off, c, ldc, acc)
		return
	}
	for _, t := range [4]struct{ row, col int }{{0, 0}, {0, 24}, {4, 0}, {4, 24}} {
		kern4x24avx2(k, (*float32)(unsafe.Add(unsafe.Pointer(a), 4*t.row)), (*float32)(unsafe.Add(unsafe.Pointer(b), 4*t.col)), off,
			(*float32)(unsafe.Add(unsafe.Pointer(c), 4*(t.row*ldc+t.col))), ldc, acc)
	}
}

// dot4x4: C[i][j] += the dot products of A's and B's rows for i, j < 4 (see
// gemm_amd64.s). With AVX2, two 4x2 tiles.
func dot4x4(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int) {
	if avx512 {
		dot4x4avx512(n, samples, a, lda, sa, b, off, sb, c, ldc)
		return
	}
	dot4x2avx2(n, samples, a, lda, sa, b, off, sb, c, ldc)
	dot4x2avx2(n, samples, a, lda, sa, b, (*int32)(unsafe.Add(unsafe.Pointer(off), 8)), sb, (*float32)(unsafe.Add(unsafe.Pointer(c), 8)), ldc)
}
