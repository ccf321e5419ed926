package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The plane scheme of depthwise convolutions against the defining sums (sums*), forward
// and both gradients: odd sizes, strides 1 and 2, dilation 2, kernels 3, 5 and 7.
func TestDepthwiseByPlanesMatchesTheSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, k := range []int{3, 5, 7} {
		for _, stride := range []int{1, 2} {
			for _, dil := range []int{1, 2} {
				for _, hw := range [][2]int{{13, 11}, {7, 9}} {
					pad := dil * (k - 1) / 2
					g := convGeom{N: 1, C: 5, H: hw[0], W: hw[1], K: k, OutC: 5, Stride: stride, Dil: dil, PadH: pad, PadW: pad, Groups: 5}
					g.OutH = (g.H+2*pad-dil*(k-1)-1)/stride + 1
					g.OutW = (g.W+2*pad-dil*(k-1)-1)/stride + 1
					if g.OutH < 1 || g.OutW < 1 {
						continue
					}
					t.Run(fmt.Sprint(g), func(t *testing.T) {
						x := randFloats(rng, g.C*g.H*g.W)
						w := randFloats(rng, g.C*k*k)
						dy := randFloats(rng, g.C*g.OutH*g.OutW)
						want, got := make([]float32, len(dy)), make([]float32, len(dy))
						g.sumsForward(x, w, want)
						g.planeForward(x, w, got)
						closeAll(t, "forward", got, want)
						wantX, gotX := make([]float32, len(x)), make([]float32, len(x))
						g.sumsBackwardX(w, dy, wantX)
						g.planeBackwardX(w, dy, gotX)
						closeAll(t, "input gradient", gotX, wantX)
						wantW, gotW := make([]float32, len(w)), make([]float32, len(w))
						g.sumsBackwardW(x, dy, wantW)
						g.planeBackwardW(x, dy, gotW)
						closeAll(t, "weight gradient", gotW, wantW)
					})
				}
			}
		}
	}
}

// closeAll compares two results that sum the same terms in different orders.
func closeAll(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s [%d]: planes %v, sums %v", what, i, got[i], want[i])
		}
	}
}

// BenchmarkDepthwise times a training step's three depthwise passes (forward, input
// and weight gradients) of a DARTS cell's sep_conv_5x5 and dil_conv_3x3 at 16
// channels on 28x28, a sample at a time as the layer runs them: by planes, and by the
// defining sums as before (the baseline, same run).
func BenchmarkDepthwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name               string
		k, stride, dil, hw int
	}{{"sep5x5", 5, 1, 1, 28}, {"dil3x3", 3, 1, 2, 28}, {"sep3x3-stride2", 3, 2, 1, 28}} {
		pad := tc.dil * (tc.k - 1) / 2
		g := convGeom{N: 1, C: 16, H: tc.hw, W: tc.hw, K: tc.k, OutC: 16, Stride: tc.stride, Dil: tc.dil, PadH: pad, PadW: pad, Groups: 16}
		g.OutH = (g.H+2*pad-tc.dil*(tc.k-1)-1)/tc.stride + 1
		g.OutW = g.OutH
		x, w := randFloats(rng, g.C*g.H*g.W), randFloats(rng, g.C*g.K*g.K)
		y, dy := make([]float32, g.C*g.OutH*g.OutW), randFloats(rng, g.C*g.OutH*g.OutW)
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		for _, way := range []string{"planes", "sums"} {
			b.Run(tc.name+"/"+way, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if way == "planes" {
						g.planeForward(x, w, y)
						g.planeBackwardX(w, dy, dx)
						g.planeBackwardW(x, dy, dw)
					} else {
						g.sumsForward(x, w, y)
						g.sumsBackwardX(w, dy, dx)
						g.sumsBackwardW(x, dy, dw)
					}
				}
			})
		}
	}
}
