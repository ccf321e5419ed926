package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// checkGrad builds y = f(inputs), the loss sum(y * r) for a fixed random r, and
// compares the symbolic gradient of every input with central finite differences.
func checkGrad(t *testing.T, name string, shapes []tensor.Shape, f func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(len(name)), 99))
	g := G.NewGraph()
	ins := make([]*G.Node, len(shapes))
	data := make([][]float32, len(shapes))
	for i, s := range shapes {
		// Values spaced apart so that max pooling has no near ties, and off zero (a
		// ReLU kink).
		data[i] = make([]float32, s.TotalSize())
		perm := rng.Perm(len(data[i]))
		for j := range data[i] {
			data[i][j] = (float32(perm[j])+0.5)/float32(len(data[i]))*2 - 1
		}
		ins[i] = G.NewTensor(g, tensor.Float32, len(s), G.WithShape(s...), G.WithName(fmt.Sprint("in", i)), G.WithValue(newDense(s, data[i])))
	}
	y, err := f(g, ins)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	rs := y.Shape()
	r := make([]float32, rs.TotalSize())
	for i := range r {
		r[i] = float32(rng.NormFloat64())
	}
	prod, err := G.HadamardProd(y, G.NewConstant(newDense(rs.Clone(), r)))
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.Sum(prod)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := G.Grad(loss, ins...); err != nil {
		t.Fatalf("%s: grad: %v", name, err)
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(ins...))
	defer vm.Close()
	eval := func() float64 {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			t.Fatalf("%s: run: %v", name, err)
		}
		return float64(loss.Value().Data().(float32))
	}
	eval()
	// Read every gradient before any further run: gorgonia adds each run's gradients
	// to the bound dual values.
	syms := make([][]float32, len(ins))
	for i, in := range ins {
		gv, err := in.Grad()
		if err != nil {
			t.Fatalf("%s: input %d has no gradient: %v", name, i, err)
		}
		syms[i] = append([]float32(nil), gv.Data().([]float32)...)
	}
	for i := range ins {
		sym := syms[i]
		// Half the spacing of the inputs' values, so no perturbation reorders them.
		h := 0.5 / float32(len(data[i]))
		worst := 0.0
		for j := range data[i] {
			orig := data[i][j]
			data[i][j] = orig + h
			up := eval()
			data[i][j] = orig - h
			down := eval()
			data[i][j] = orig
			num := (up - down) / float64(2*h)
			diff := math.Abs(num - float64(sym[j]))
			if diff > 2e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: d/d input%d[%d]: symbolic %.5f, numeric %.5f", name, i, j, sym[j], num)
				return
			}
			worst = math.Max(worst, diff)
		}
		t.Logf("%s input %d: %d values, worst difference %.2e", name, i, len(data[i]), worst)
	}
}

func TestConvGradients(t *testing.T) {
	for _, tc := range []convGeom{
		{N: 2, C: 3, H: 5, W: 5, K: 3, OutC: 4, Stride: 1, Dil: 1, PadH: 1, PadW: 1, Groups: 1},
		{N: 2, C: 2, H: 6, W: 6, K: 3, OutC: 3, Stride: 2, Dil: 1, PadH: 1, PadW: 1, Groups: 1},
		{N: 1, C: 2, H: 7, W: 7, K: 3, OutC: 2, Stride: 1, Dil: 2, PadH: 2, PadW: 2, Groups: 1},
		{N: 2, C: 4, H: 5, W: 5, K: 3, OutC: 4, Stride: 1, Dil: 1, PadH: 1, PadW: 1, Groups: 4},   // depthwise
		{N: 2, C: 4, H: 6, W: 6, K: 5, OutC: 4, Stride: 2, Dil: 1, PadH: 2, PadW: 2, Groups: 4},   // depthwise strided
		{N: 1, C: 3, H: 7, W: 7, K: 3, OutC: 3, Stride: 1, Dil: 2, PadH: 2, PadW: 2, Groups: 3},   // dilated depthwise
		{N: 2, C: 4, H: 4, W: 4, K: 3, OutC: 6, Stride: 1, Dil: 1, PadH: 1, PadW: 1, Groups: 2},   // grouped
		{N: 2, C: 3, H: 5, W: 5, K: 1, OutC: 2, Stride: 2, Dil: 1, PadH: -1, PadW: -1, Groups: 1}, // shifted (factorized reduce)
		{N: 2, C: 4, H: 5, W: 5, K: 1, OutC: 3, Stride: 1, Dil: 1, Groups: 1},                     // 1x1: no im2col
		{N: 2, C: 4, H: 3, W: 3, K: 1, OutC: 6, Stride: 1, Dil: 1, Groups: 2},                     // grouped 1x1
		{N: 2, C: 2, H: 7, W: 7, K: 3, OutC: 2, Stride: 3, Dil: 1, PadH: 1, PadW: 1, Groups: 1},   // stride 3
	} {
		tc.OutH = (tc.H+2*max(tc.PadH, 0)-tc.Dil*(tc.K-1)-1)/tc.Stride + 1
		tc.OutW = tc.OutH
		if tc.PadH < 0 {
			tc.OutH, tc.OutW = (tc.H-1)/2+1, (tc.W-1)/2+1
		}
		geom := tc
		checkGrad(t, geom.String(), []tensor.Shape{{tc.N, tc.C, tc.H, tc.W}, {tc.OutC, tc.C / tc.Groups, tc.K, tc.K}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.ApplyOp(&convOp{g: geom}, in[0], in[1])
		})
	}
}

func TestPoolGradients(t *testing.T) {
	for _, max := range []bool{false, true} {
		for _, tc := range []poolGeom{
			{N: 2, C: 2, H: 5, W: 5, K: 3, Stride: 1, Pad: 1},
			{N: 1, C: 3, H: 6, W: 6, K: 3, Stride: 2, Pad: 1},
			{N: 2, C: 1, H: 4, W: 4, K: 2, Stride: 2, Pad: 0},
		} {
			tc.Max = max
			tc.OutH = (tc.H+2*tc.Pad-tc.K)/tc.Stride + 1
			tc.OutW = tc.OutH
			geom := tc
			checkGrad(t, geom.String(), []tensor.Shape{{tc.N, tc.C, tc.H, tc.W}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return G.ApplyOp(&poolOp{g: geom}, in[0])
			})
		}
	}
}

func TestBatchNormGradients(t *testing.T) {
	for _, training := range []bool{true, false} {
		bn := newBN("t", 3)
		bn.training = training
		for i := range bn.runningMean { // non-trivial running statistics for evaluation
			bn.runningMean[i], bn.runningVar[i] = 0.1*float32(i), 0.5+float32(i)
		}
		checkGrad(t, fmt.Sprintf("bn(training=%v)", training), []tensor.Shape{{4, 3, 3, 3}, {3}, {3}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.ApplyOp(bn, in[0], in[1], in[2])
		})
	}
}

func TestAveragePoolExcludesPadding(t *testing.T) {
	g := poolGeom{N: 1, C: 1, H: 2, W: 2, K: 3, Stride: 1, Pad: 1, OutH: 2, OutW: 2}
	x := []float32{1, 2, 3, 4}
	y := make([]float32, 4)
	g.run(x, y, nil, nil)
	// Every 3x3 window over a 2x2 input with padding 1 covers all four values.
	for i, v := range y {
		if v != 2.5 {
			t.Fatalf("y[%d] = %v, want 2.5 (padding must not count)", i, v)
		}
	}
}

func TestBatchNormNormalisesAndTracksRunningStats(t *testing.T) {
	bn := newBN("t", 2)
	x := make([]float32, 4*2*2*2)
	for i := range x {
		x[i] = float32(i%7) + 10*float32((i/4)%2) // channel 1 sits 10 higher
	}
	y, err := bn.Do(newDense(tensor.Shape{4, 2, 2, 2}, x), newDense(tensor.Shape{2}, []float32{1, 1}), newDense(tensor.Shape{2}, []float32{0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	d := y.Data().([]float32)
	for c := 0; c < 2; c++ {
		var s, ss float64
		for n := 0; n < 4; n++ {
			for _, v := range d[(n*2+c)*4 : (n*2+c+1)*4] {
				s += float64(v)
				ss += float64(v) * float64(v)
			}
		}
		if m, v := s/16, ss/16-(s/16)*(s/16); math.Abs(m) > 1e-5 || math.Abs(v-1) > 1e-3 {
			t.Errorf("channel %d: mean %v variance %v after normalising", c, m, v)
		}
	}
	if bn.runningMean[1] <= bn.runningMean[0] || bn.runningMean[0] == 0 {
		t.Errorf("running means %v", bn.runningMean)
	}
}

// TestConvForwardByDefinition compares the conv op with the sum that defines it,
// including kernels wider than the input (a 7x7 conv on a 2x2 map, as the network
// space's late stages make), where most taps read padding.
func TestConvForwardByDefinition(t *testing.T) {
	for _, tc := range []convGeom{
		{N: 2, C: 3, H: 5, W: 5, K: 3, OutC: 4, Stride: 1, Dil: 1, PadH: 1, PadW: 1, Groups: 1},
		{N: 1, C: 2, H: 2, W: 2, K: 7, OutC: 3, Stride: 1, Dil: 1, PadH: 3, PadW: 3, Groups: 1},
		{N: 1, C: 2, H: 2, W: 2, K: 7, OutC: 3, Stride: 2, Dil: 1, PadH: 3, PadW: 3, Groups: 1},
		{N: 1, C: 4, H: 2, W: 2, K: 5, OutC: 4, Stride: 1, Dil: 1, PadH: 2, PadW: 2, Groups: 4},
		{N: 1, C: 2, H: 1, W: 1, K: 3, OutC: 2, Stride: 2, Dil: 1, PadH: 1, PadW: 1, Groups: 1},
		{N: 1, C: 2, H: 7, W: 7, K: 3, OutC: 2, Stride: 1, Dil: 2, PadH: 2, PadW: 2, Groups: 1},
	} {
		tc.OutH = (tc.H+2*tc.PadH-tc.Dil*(tc.K-1)-1)/tc.Stride + 1
		tc.OutW = tc.OutH
		rng := rand.New(rand.NewPCG(7, 7))
		x := make([]float32, tc.N*tc.C*tc.H*tc.W)
		w := make([]float32, tc.OutC*(tc.C/tc.Groups)*tc.K*tc.K)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, tc.N*tc.OutC*tc.OutH*tc.OutW)
		tc.forward(x, w, y)
		cg, og := tc.C/tc.Groups, tc.OutC/tc.Groups
		for n := 0; n < tc.N; n++ {
			for o := 0; o < tc.OutC; o++ {
				for oh := 0; oh < tc.OutH; oh++ {
					for ow := 0; ow < tc.OutW; ow++ {
						var want float64
						for c := 0; c < cg; c++ {
							ic := o/og*cg + c
							for kh := 0; kh < tc.K; kh++ {
								for kw := 0; kw < tc.K; kw++ {
									ih, iw := oh*tc.Stride-tc.PadH+kh*tc.Dil, ow*tc.Stride-tc.PadW+kw*tc.Dil
									if ih < 0 || ih >= tc.H || iw < 0 || iw >= tc.W {
										continue
									}
									want += float64(x[((n*tc.C+ic)*tc.H+ih)*tc.W+iw]) * float64(w[((o*cg+c)*tc.K+kh)*tc.K+kw])
								}
							}
						}
						if got := y[((n*tc.OutC+o)*tc.OutH+oh)*tc.OutW+ow]; math.Abs(float64(got)-want) > 1e-4 {
							t.Fatalf("%s: y[%d,%d,%d,%d] = %g, by definition %g", tc.String(), n, o, oh, ow, got, want)
						}
					}
				}
			}
		}
	}
	// And the gradients of a kernel wider than the input.
	wide := convGeom{N: 1, C: 2, H: 2, W: 2, K: 7, OutC: 2, Stride: 1, Dil: 1, PadH: 3, PadW: 3, Groups: 1, OutH: 2, OutW: 2}
	checkGrad(t, wide.String(), []tensor.Shape{{1, 2, 2, 2}, {2, 2, 7, 7}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.ApplyOp(&convOp{g: wide}, in[0], in[1])
	})
}

// The channel concatenation's gradient is the output gradient's channel ranges.
func TestConcatGradients(t *testing.T) {
	checkGrad(t, "concat", []tensor.Shape{{2, 3, 4, 5}, {2, 1, 4, 5}, {2, 2, 4, 5}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return concatChannels(in...)
	})
}

// The unrolled 3x3 average pool gives run's results to the bit, forward and
// backward, on planes of every size from 1x1 (all border) to 28x28.
func TestBox3PoolIsRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, hw := range [][2]int{{1, 1}, {2, 2}, {1, 5}, {3, 3}, {4, 7}, {7, 4}, {14, 14}, {28, 28}} {
		g := poolGeom{N: 2, C: 3, H: hw[0], W: hw[1], K: 3, Stride: 1, Pad: 1, OutH: hw[0], OutW: hw[1]}
		if !g.box3() {
			t.Fatalf("%v is not a box3 pool", g)
		}
		n := g.N * g.C * g.H * g.W
		x, dy := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], dy[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		want, got := make([]float32, n), make([]float32, n)
		g.run(x, want, nil, nil)
		g.box3Forward(x, got)
		sameBits(t, g.String()+" forward", got, want)
		clear(want)
		g.run(x, nil, dy, want)
		for i := range got {
			got[i] = float32(math.NaN()) // box3Backward overwrites dx
		}
		g.box3Backward(dy, got)
		sameBits(t, g.String()+" backward", got, want)
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %v, run gives %v", what, i, got[i], want[i])
		}
	}
}
