package gemm

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMul times Mul and Dot on the shapes of the reference network's stride-1
// convolutions (8 samples a chunk) and reports GFLOP/s, for the single core it runs on.
func BenchmarkMul(b *testing.B) {
	if !Available {
		b.Skip("no AVX-512 here")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct {
		name    string
		m, k, n int
	}{{"16x144x6728", 16, 144, 6728}, {"32x288x1800", 32, 288, 1800}, {"64x576x504", 64, 576, 504}} {
		a := randSlice(rng, s.m*s.k)
		off := NewOffsets(s.k, func(r int) int { return r/9*(s.n+64) + r%9 })
		bb := randSlice(rng, off.Max+RoundUp(s.n, TileCols))
		ldc := RoundUp(s.n, TileCols)
		c := make([]float32, RoundUp(s.m, PanelRows)*ldc)
		p := Pack(a, s.m, s.k)
		b.Run("mul/"+s.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Mul(p, s.m, s.k, s.n, bb, off, c, ldc)
			}
			b.ReportMetric(float64(2*s.m*s.k*s.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		n16 := RoundUp(s.n, VecLen)
		da := randSlice(rng, RoundUp(s.m, DotTile)*n16)
		dc := make([]float32, RoundUp(s.m, DotTile)*s.k)
		b.Run("dot/"+s.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				Dot(s.m, n16, da, n16, bb, off, dc, s.k)
			}
			b.ReportMetric(float64(2*s.m*s.k*s.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
