package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"cellar/nn/internal/cpulevel"
	"cellar/nn/internal/gemm"
)

// TestFastConvMatchesIm2col runs every convolution geometry the spaces make through
// the AVX-512 path (implicit for stride 1, im2col otherwise) and through the im2col
// and BLAS path other CPUs take, and compares the output and both gradients, the
// gradients also as computed together (implicitGrads).
func TestFastConvMatchesIm2col(t *testing.T) {
	if !gemm.Available {
		t.Skipf("no kernels on this path (%s): only the im2col path runs here", cpulevel.Current)
	}
	for _, tc := range []convGeom{
		{N: 9, C: 16, H: 28, W: 28, K: 3, OutC: 16, Stride: 1, Dil: 1, PadH: 1, PadW: 1}, // NB201 stage 1
		{N: 5, C: 32, H: 7, W: 7, K: 3, OutC: 64, Stride: 2, Dil: 1, PadH: 1, PadW: 1},   // reduction
		{N: 3, C: 5, H: 9, W: 11, K: 5, OutC: 7, Stride: 1, Dil: 1, PadH: 2, PadW: 2},    // 5x5, odd sizes
		{N: 3, C: 6, H: 10, W: 10, K: 3, OutC: 9, Stride: 1, Dil: 2, PadH: 2, PadW: 2},   // dilated
		{N: 2, C: 3, H: 8, W: 8, K: 3, OutC: 4, Stride: 1, Dil: 1},                       // no padding
		{N: 4, C: 12, H: 6, W: 6, K: 1, OutC: 20, Stride: 1, Dil: 1},                     // 1x1
		{N: 3, C: 8, H: 9, W: 9, K: 1, OutC: 4, Stride: 2, Dil: 1, PadH: -1, PadW: -1},   // factorized reduce's shifted path
		{N: 2, C: 2, H: 2, W: 2, K: 7, OutC: 3, Stride: 1, Dil: 1, PadH: 3, PadW: 3},     // kernel wider than the input
		{N: 2, C: 3, H: 32, W: 32, K: 3, OutC: 16, Stride: 2, Dil: 1, PadH: 1, PadW: 1},  // strided stem
		{N: 17, C: 1, H: 28, W: 28, K: 3, OutC: 16, Stride: 1, Dil: 1, PadH: 1, PadW: 1}, // MNIST stem, uneven chunks
	} {
		tc.Groups = 1
		tc.OutH = (tc.H+2*max(tc.PadH, 0)-tc.Dil*(tc.K-1)-1)/tc.Stride + 1
		if tc.PadH < 0 {
			tc.OutH = (tc.H-1)/2 + 1
		}
		tc.OutW = tc.OutH
		rng := rand.New(rand.NewPCG(1, uint64(tc.C)))
		x := randFloats(rng, tc.N*tc.C*tc.H*tc.W)
		w := randFloats(rng, tc.OutC*tc.C*tc.K*tc.K)
		dy := randFloats(rng, tc.N*tc.OutC*tc.OutH*tc.OutW)
		run := func() (y, dx, dw []float32) {
			y, dx, dw = make([]float32, len(dy)), make([]float32, len(x)), make([]float32, len(w))
			tc.forward(x, w, y)
			tc.backwardX(w, dy, dx)
			tc.backwardW(x, dy, dw)
			return y, dx, dw
		}
		fy, fdx, fdw := run()
		gdx, gdw := make([]float32, len(x)), make([]float32, len(w))
		if tc.fusedGrads() {
			tc.implicitGrads(x, w, dy, gdx, gdw)
		} else {
			copy(gdx, fdx)
			copy(gdw, fdw)
		}
		fastConv = false
		ry, rdx, rdw := run()
		fastConv = true
		for _, c := range []struct {
			name      string
			fast, ref []float32
		}{{"y", fy, ry}, {"dx", fdx, rdx}, {"dw", fdw, rdw}, {"fused dx", gdx, rdx}, {"fused dw", gdw, rdw}} {
			for i := range c.ref {
				if d := math.Abs(float64(c.fast[i] - c.ref[i])); d > 1e-3*(1+math.Abs(float64(c.ref[i]))) {
					t.Fatalf("%s: %s[%d] = %g on the AVX-512 path, %g through im2col", tc, c.name, i, c.fast[i], c.ref[i])
				}
			}
		}
	}
}

func randFloats(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestConvSumsForBatchNorm checks the channel sums a conv computes for the batch norm
// after it against sums over its output, and that the batch norm uses them once.
func TestConvSumsForBatchNorm(t *testing.T) {
	g := convGeom{N: 11, C: 3, H: 9, W: 9, K: 3, OutC: 5, Stride: 1, Dil: 1, PadH: 1, PadW: 1, Groups: 1, OutH: 9, OutW: 9}
	rng := rand.New(rand.NewPCG(4, 4))
	x, w := randFloats(rng, g.N*g.C*g.H*g.W), randFloats(rng, g.OutC*g.C*9)
	conv := &convOp{g: g, stats: true}
	v, err := conv.Do(newDense(tensor.Shape{g.N, g.C, g.H, g.W}, x), newDense(tensor.Shape{g.OutC, g.C, 3, 3}, w))
	if err != nil {
		t.Fatal(err)
	}
	y, _, _ := f32(v)
	for ch := 0; ch < g.OutC; ch++ {
		var s, ss float64
		for n := 0; n < g.N; n++ {
			for _, u := range y[(n*g.OutC+ch)*81 : (n*g.OutC+ch+1)*81] {
				s += float64(u)
				ss += float64(u) * float64(u)
			}
		}
		if math.Abs(conv.sum[ch]-s) > 1e-9*(1+math.Abs(s)) || math.Abs(conv.sumSq[ch]-ss) > 1e-9*ss {
			t.Fatalf("channel %d: conv summed %v and %v, the output sums to %v and %v", ch, conv.sum[ch], conv.sumSq[ch], s, ss)
		}
	}
	bn := newBN("t", g.OutC)
	bn.src = conv
	conv.sum[0] += 1e3 // a batch norm that used these would show it in channel 0's mean
	mean, _ := bn.stats(y, g.N, 81, true)
	if conv.fresh {
		t.Fatal("the batch norm left the conv's sums marked unused")
	}
	if want := float32(conv.sum[0] / float64(g.N*81)); mean[0] != want {
		t.Fatalf("batch norm mean %v, want %v from the conv's sums", mean[0], want)
	}
}
