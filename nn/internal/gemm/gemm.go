// Package gemm multiplies float32 matrices with kernels written in Go assembly, for
// nn's convolutions: AVX-512 (gemm_amd64.s), AVX2+FMA (gemm_avx2_amd64.s) and NEON
// (gemm_arm64.s). Both kernels read the rows of their
// B operand through a table of offsets into one slice, so a row can be a shifted
// window of a zero-padded image: that is how nn computes a stride-1 convolution
// without im2col. Available says whether the CPU runs them; elsewhere nn uses im2col
// and a BLAS.
package gemm

import "fmt"

// The kernels' tiles: what operands are padded to.
const (
	PanelRows = 8  // rows of Mul's A panels (kern8x48)
	TileCols  = 48 // columns Mul computes at once
	DotTile   = 4  // rows and columns Dot computes at once (dot4x4)
	VecLen    = 16 // floats in an AVX-512 vector: Dot's length is a multiple of it
)

// RoundUp is n rounded up to a multiple of m.
func RoundUp(n, m int) int { return (n + m - 1) / m * m }

// Pack packs the row-major m x k matrix a into the layout kern8x48 reads: panels of
// 8 rows, each stored column by column, with zero rows past m.
func Pack(a []float32, m, k int) []float32 {
	mp := RoundUp(m, PanelRows)
	p := make([]float32, mp*k)
	for i0 := 0; i0 < m; i0 += PanelRows {
		panel := p[i0*k : (i0+PanelRows)*k]
		for i := 0; i < PanelRows && i0+i < m; i++ {
			row := a[(i0+i)*k : (i0+i+1)*k]
			for r, v := range row {
				panel[r*PanelRows+i] = v
			}
		}
	}
	return p
}

// Offsets is a table of B row offsets and its largest entry.
type Offsets struct {
	At  []int32
	Max int
}

// NewOffsets tabulates f(r) for r < n.
func NewOffsets(n int, f func(r int) int) Offsets {
	o := Offsets{At: make([]int32, n)}
	for r := range o.At {
		v := f(r)
		o.At[r] = int32(v)
		o.Max = max(o.Max, v)
	}
	return o
}

// Mul computes C = A B, for A packed by Pack (m x k) and B's row r the n floats at
// b[off.At[r]:] (off may hold more than k rows). It computes n rounded up to 48
// columns, reading that far into b, and writes RoundUp(m, 8) rows of C, ldc floats
// apart.
func Mul(panels []float32, m, k, n int, b []float32, off Offsets, c []float32, ldc int) {
	mp, np := RoundUp(m, PanelRows), RoundUp(n, TileCols)
	if k == 0 || n == 0 {
		return
	}
	if len(off.At) < k || len(panels) < mp*k || len(b) < off.Max+np || ldc < np || len(c) < (mp-1)*ldc+np {
		panic(fmt.Sprintf("gemm: Mul operands too small (m %d k %d n %d: panels %d, b %d for offset %d, c %d, ldc %d)", m, k, n, len(panels), len(b), off.Max, len(c), ldc))
	}
	for j := 0; j < np; j += TileCols {
		for i := 0; i < mp; i += PanelRows {
			kern8x48(k, &panels[i*k], &b[j], &off.At[0], &c[i*ldc+j], ldc, false)
		}
	}
}

// Dot adds A B^T to C: C[i][j] += the sum over p < n of a[i*lda+p] * b[off.At[j]+p],
// for i < RoundUp(m, 4) (A has that many rows) and j < len(off.At), a multiple of 4.
// n must be a multiple of 16; C's rows are ldc floats apart.
func Dot(m, n int, a []float32, lda int, b []float32, off Offsets, c []float32, ldc int) {
	mp, k := RoundUp(m, DotTile), len(off.At)
	if n == 0 || m == 0 {
		return
	}
	if n%VecLen != 0 || k%DotTile != 0 || len(a) < (mp-1)*lda+n || len(b) < off.Max+n || ldc < k || len(c) < (mp-1)*ldc+k {
		panic(fmt.Sprintf("gemm: Dot operands do not fit (m %d n %d k %d: a %d lda %d, b %d for offset %d, c %d, ldc %d)", m, n, k, len(a), lda, len(b), off.Max, len(c), ldc))
	}
	for i := 0; i < mp; i += DotTile {
		for j := 0; j < k; j += DotTile {
			dot4x4(n, 1, &a[i*lda], lda, 0, &b[0], &off.At[j], 0, &c[i*ldc+j], ldc)
		}
	}
}
