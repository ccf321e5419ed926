//go:build !purego

package gemm

import (
	"unsafe"

	"cellar/nn/internal/cpulevel"
)

// Available says whether the NEON kernels of gemm_arm64.s run: on every arm64 CPU,
// unless CELLAR_CPU=generic holds nn to im2col.
var Available = cpulevel.Current.AtLeast(cpulevel.NEON)

// avx512 is false here; the tests ask.
const avx512 = false

//go:noescape
func kern8x12neon(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool)

//go:noescape
func dot4x4neon(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, out *float32)

// kern8x48: C[i][j] (+)= sum over r<k of A[r][i] * b[off[r]+j], for i<8, j<48 (see
// gemm_amd64.s), as four 8x12 tiles.
func kern8x48(k int, a, b *float32, off *int32, c *float32, ldc int, acc bool) {
	for col := 0; col < 48; col += 12 {
		kern8x12neon(k, a, (*float32)(unsafe.Add(unsafe.Pointer(b), 4*col)), off, (*float32)(unsafe.Add(unsafe.Pointer(c), 4*col)), ldc, acc)
	}
}

// dot4x4: C[i][j] += the dot products of A's and B's rows for i, j < 4 (see
// gemm_amd64.s); the kernel leaves four partial sums of each, added here.
func dot4x4(n, samples int, a *float32, lda, sa int, b *float32, off *int32, sb int, c *float32, ldc int) {
	var lanes [64]float32
	dot4x4neon(n, samples, a, lda, sa, b, off, sb, &lanes[0])
	cs := unsafe.Slice(c, 3*ldc+4)
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			l := lanes[(i*4+j)*4:][:4]
			cs[i*ldc+j] += (l[0] + l[1]) + (l[2] + l[3])
		}
	}
}
