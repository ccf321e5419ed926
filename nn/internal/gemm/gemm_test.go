package gemm

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"cellar/nn/internal/cpulevel"
)

func requireKernels(t *testing.T) {
	t.Helper()
	if !Available {
		t.Skipf("no kernels on this path (%s=%q; the CPU runs %s): convolutions use im2col", cpulevel.Env, os.Getenv(cpulevel.Env), cpulevel.Detect())
	}
	// CI runs these tests once per path: the one asked for must be the one tested.
	if want := os.Getenv(cpulevel.Env); want != "" && cpulevel.Note == "" && (want == "avx2") == avx512 {
		t.Fatalf("%s=%s, but the AVX-512 kernels run: %v", cpulevel.Env, want, avx512)
	}
	t.Logf("testing the %s kernels", cpulevel.Current)
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// close32 compares with a tolerance relative to the magnitude of the sum's terms.
func close32(t *testing.T, what string, got, want, scale float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-5*scale+1e-6 {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// TestGemmOff checks kern8x48 through Mul against the defining sum, for row and
// column counts that are not multiples of the tile and shuffled row Offsets.
func TestGemmOff(t *testing.T) {
	requireKernels(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ m, k, n int }{{8, 1, 48}, {1, 5, 7}, {13, 27, 100}, {64, 144, 784}, {17, 3, 49}} {
		a := randSlice(rng, tc.m*tc.k)
		perm := rng.Perm(tc.k)
		off := NewOffsets(tc.k, func(r int) int { return perm[r]*tc.n + rng.IntN(3) })
		b := randSlice(rng, off.Max+RoundUp(tc.n, TileCols))
		ldc := RoundUp(tc.n, TileCols) + 5
		c := make([]float32, RoundUp(tc.m, PanelRows)*ldc)
		Mul(Pack(a, tc.m, tc.k), tc.m, tc.k, tc.n, b, off, c, ldc)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				var want, scale float64
				for r := 0; r < tc.k; r++ {
					p := float64(a[i*tc.k+r]) * float64(b[int(off.At[r])+j])
					want += p
					scale += math.Abs(p)
				}
				close32(t, "C", float64(c[i*ldc+j]), want, scale)
			}
		}
	}
}

// TestDotOff checks dot4x4 through Dot: it adds A B^T to what C holds.
func TestDotOff(t *testing.T) {
	requireKernels(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct{ m, k, n int }{{4, 4, 16}, {3, 8, 32}, {16, 144, 784}, {10, 12, 208}} {
		lda := tc.n + 3
		a := randSlice(rng, RoundUp(tc.m, DotTile)*lda)
		off := NewOffsets(tc.k, func(r int) int { return rng.IntN(500) })
		b := randSlice(rng, off.Max+tc.n)
		ldc := tc.k + 2
		c := randSlice(rng, RoundUp(tc.m, DotTile)*ldc)
		before := append([]float32(nil), c...)
		Dot(tc.m, tc.n, a, lda, b, off, c, ldc)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.k; j++ {
				want, scale := float64(before[i*ldc+j]), math.Abs(float64(before[i*ldc+j]))
				for p := 0; p < tc.n; p++ {
					v := float64(a[i*lda+p]) * float64(b[int(off.At[j])+p])
					want += v
					scale += math.Abs(v)
				}
				close32(t, "C", float64(c[i*ldc+j]), want, scale)
			}
		}
	}
}

// TestKernAccumulates checks kern8x48's accumulating form: a second product added to
// C doubles it.
func TestKernAccumulates(t *testing.T) {
	requireKernels(t)
	rng := rand.New(rand.NewPCG(7, 8))
	const k, ldc = 9, TileCols + 3
	panels := randSlice(rng, PanelRows*k)
	off := NewOffsets(k, func(r int) int { return r * TileCols })
	b := randSlice(rng, k*TileCols)
	c := make([]float32, PanelRows*ldc)
	kern8x48(k, &panels[0], &b[0], &off.At[0], &c[0], ldc, false)
	once := append([]float32(nil), c...)
	kern8x48(k, &panels[0], &b[0], &off.At[0], &c[0], ldc, true)
	for i := 0; i < PanelRows; i++ {
		for j := 0; j < TileCols; j++ {
			close32(t, "C", float64(c[i*ldc+j]), 2*float64(once[i*ldc+j]), 2*math.Abs(float64(once[i*ldc+j])))
		}
	}
}
