package proxies

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"cellar/nn"
	"cellar/spaces"
)

// tiny is input (1 x 2 x 2) -> 1x1 conv to 2 channels -> ReLU -> global pool ->
// linear to 2 classes: small enough to work scores out by hand.
func tiny(t *testing.T) *spaces.Net {
	t.Helper()
	b := spaces.NewNetBuilder(spaces.Shape{C: 1, H: 2, W: 2})
	c := b.Add(spaces.Layer{Kind: spaces.Conv, Name: "conv", Inputs: []int{0}, OutC: 2, Kernel: 1, Stride: 1, Groups: 1, Dilation: 1})
	r := b.Add(spaces.Layer{Kind: spaces.ReLU, Name: "relu", Inputs: []int{c}})
	g := b.Add(spaces.Layer{Kind: spaces.GlobalPool, Name: "pool", Inputs: []int{r}})
	net, err := b.Finish(b.Add(spaces.Layer{Kind: spaces.Linear, Name: "fc", Inputs: []int{g}, OutC: 2, Bias: true}))
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// weights are the tiny network's initial conv and linear weights for seed.
func weights(t *testing.T, net *spaces.Net, seed uint64) (conv, fc []float64) {
	m, err := nn.Compile(net, 1, rng(seed))
	if err != nil {
		t.Fatal(err)
	}
	f := func(v []float32) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out
	}
	return f(m.WeightValues()[0]), f(m.WeightValues()[1])
}

func nb201(t *testing.T, arch string, channels, cells int, input [3]int) *spaces.Net {
	t.Helper()
	s, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: input, Classes: 10}, Channels: channels, Cells: cells})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Parse([]byte(arch))
	if err != nil {
		t.Fatal(err)
	}
	net, err := s.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

const resnetCell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
const noneCell = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"

func near(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b)) }

// With |weights| and ones in, R = sum_j sum_c |w1_c| |w2_cj|; each layer's weights
// contribute R to the sum of theta * dR/dtheta, so synflow = 2R.
func TestSynflowByHand(t *testing.T) {
	net := tiny(t)
	w1, w2 := weights(t, net, 3)
	var r float64
	for c := 0; c < 2; c++ {
		for j := 0; j < 2; j++ {
			r += math.Abs(w1[c]) * math.Abs(w2[c*2+j]) // linear weights are in x out
		}
	}
	got, err := Score([]string{"synflow"}, net, Batch{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Log(2 * r); !near(got["synflow"], want, 1e-5) {
		t.Errorf("log synflow %v, want log(2R) = %v", got["synflow"], want)
	}
}

// Dividing at the cuts must not change synflow: on an NB201 net small enough for
// float32 without it, both ways agree. Deeper nets overflow float32 without it.
func TestSynflowNormalisationKeepsTheScore(t *testing.T) {
	net := nb201(t, resnetCell, 4, 1, [3]int{1, 8, 8})
	plain := func() float64 {
		m, err := nn.CompileWith(net, 1, rng(1), nn.CompileOptions{NoBatchNorm: true})
		if err != nil {
			t.Fatal(err)
		}
		linearise(m)
		p, _ := nn.NewProbe(m, nn.SumOfLogits, nn.Weights)
		defer p.Close()
		ones := make([]float32, 64)
		for i := range ones {
			ones[i] = 1
		}
		if err := p.Run(ones, nil); err != nil {
			t.Fatal(err)
		}
		return math.Log(weightsDotGrads(m, p))
	}()
	got, err := synflow(net, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got, plain, 1e-4) {
		t.Errorf("synflow with normalised cuts %v, without %v", got, plain)
	}
	// The benchmark's skeleton: finite, and no longer the overflow it is in float32.
	big, err := synflow(nb201(t, resnetCell, 16, 5, [3]int{3, 32, 32}), 1)
	if err != nil || big == NoSignal || math.IsInf(big, 0) || big < 50 {
		t.Errorf("log synflow of the full skeleton %v, %v", big, err)
	}
}

// Synflow reads no data: any batch gives the same score; an all-none cell passes no
// signal and scores NoSignal.
func TestSynflowIgnoresDataAndFlagsNoSignal(t *testing.T) {
	net := nb201(t, resnetCell, 4, 1, [3]int{1, 8, 8})
	a, _ := Score([]string{"synflow"}, net, NoiseBatch(4, [3]int{1, 8, 8}, 10, 1), 1)
	b, _ := Score([]string{"synflow"}, net, NoiseBatch(8, [3]int{1, 8, 8}, 10, 2), 1)
	if a["synflow"] != b["synflow"] {
		t.Errorf("synflow depends on the batch: %v, %v", a, b)
	}
	none, err := Score([]string{"synflow", "naswot", "grad_norm", "snip", "grasp", "fisher", "jacob_cov"}, nb201(t, noneCell, 4, 1, [3]int{1, 8, 8}), NoiseBatch(4, [3]int{1, 8, 8}, 10, 1), 1)
	if err != nil {
		t.Fatal(err)
	}
	if none["synflow"] != NoSignal || none["grad_norm"] != 0 || none["snip"] != 0 {
		t.Errorf("all-none cell: %v", none)
	}
	for k, v := range none {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("all-none cell: %s = %v", k, v)
		}
	}
}

// NASWOT by hand: the ReLU sees the input's signs directly. Codes 11, 10, 00 give
// K = [[2 1 0] [1 2 1] [0 1 2]], det 4.
func TestNaswotByHand(t *testing.T) {
	b := spaces.NewNetBuilder(spaces.Shape{C: 2, H: 1, W: 1})
	r := b.Add(spaces.Layer{Kind: spaces.ReLU, Name: "relu", Inputs: []int{0}})
	g := b.Add(spaces.Layer{Kind: spaces.GlobalPool, Name: "pool", Inputs: []int{r}})
	net, err := b.Finish(b.Add(spaces.Layer{Kind: spaces.Linear, Name: "fc", Inputs: []int{g}, OutC: 2, Bias: true}))
	if err != nil {
		t.Fatal(err)
	}
	batch := Batch{N: 3, X: []float32{1, 2, 3, -1, -2, -0.5}, Y: []float32{1, 0, 0, 1, 1, 0}}
	got, err := Score([]string{"naswot"}, net, batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got["naswot"], math.Log(4), 1e-9) {
		t.Errorf("naswot %v, want log 4 = %v", got["naswot"], math.Log(4))
	}
	// Two identical inputs make K singular.
	same := Batch{N: 2, X: []float32{1, -1, 1, -1}, Y: []float32{1, 0, 0, 1}}
	if got, _ := Score([]string{"naswot"}, net, same, 1); got["naswot"] != NoSignal {
		t.Errorf("naswot of a repeated input %v, want NoSignal", got["naswot"])
	}
}

// jacob_cov of a batch of one input repeated: every Jacobian is the same, the
// correlation matrix is all ones, eigenvalues N and N-1 zeros.
func TestJacobCovOfRepeatedInput(t *testing.T) {
	net := nb201(t, resnetCell, 4, 1, [3]int{1, 8, 8})
	const n = 4
	one := NoiseBatch(1, [3]int{1, 8, 8}, 10, 5)
	b := Batch{N: n, Y: make([]float32, n*10)}
	for range n {
		b.X = append(b.X, one.X...)
	}
	// Batch norm in training mode mixes the batch, but identical inputs stay identical.
	got, err := Score([]string{"jacob_cov"}, net, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	const k = 1e-5
	want := -(math.Log(n+k) + 1/(n+k)) - (n-1)*(math.Log(k)+1/k)
	if !near(got["jacob_cov"], want, 1e-3) {
		t.Errorf("jacob_cov %v, want %v", got["jacob_cov"], want)
	}
}

// snip and grad_norm from the network's gradients, checked against central
// differences of the loss; fisher on the tiny net at batch 1 is, per conv channel,
// 0.5 (w_c dL/dw_c)^2, plus 0.5 (logit_j dL/dlogit_j)^2 per class.
func TestGradientScoresAgainstFiniteDifferences(t *testing.T) {
	net := tiny(t)
	b := Batch{N: 1, X: []float32{0.5, -1, 2, 0.25}, Y: []float32{0, 1}}
	m, err := nn.Compile(net, 1, rng(7))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := nn.NewProbe(m, nn.CrossEntropy, nn.Nothing)
	defer p.Close()
	loss := func() float64 {
		if err := p.Run(b.X, b.Y); err != nil {
			t.Fatal(err)
		}
		return p.Cost()
	}
	var snip, gradNorm, fisherConv float64
	grads := make([][]float64, len(m.WeightValues()))
	for i, v := range m.WeightValues() {
		var sq float64
		for j := range v {
			orig := v[j]
			const h = 1e-2
			v[j] = orig + h
			up := loss()
			v[j] = orig - h
			down := loss()
			v[j] = orig
			g := (up - down) / (2 * h)
			grads[i] = append(grads[i], g)
			snip += math.Abs(float64(orig) * g)
			sq += g * g
			if i == 0 {
				fisherConv += 0.5 * math.Pow(float64(orig)*g, 2)
			}
		}
		gradNorm += math.Sqrt(sq)
	}
	// The logits' term: dL/dlogit = softmax - y.
	loss()
	logits := m.LogitValues()
	e0, e1 := math.Exp(float64(logits[0])), math.Exp(float64(logits[1]))
	p0, p1 := e0/(e0+e1), e1/(e0+e1)
	fisherFC := 0.5*math.Pow(float64(logits[0])*(p0-0), 2) + 0.5*math.Pow(float64(logits[1])*(p1-1), 2)

	got, err := Score([]string{"snip", "grad_norm", "fisher"}, net, b, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got["snip"], snip, 2e-3) || !near(got["grad_norm"], gradNorm, 2e-3) {
		t.Errorf("snip %v grad_norm %v; finite differences give %v and %v", got["snip"], got["grad_norm"], snip, gradNorm)
	}
	if !near(got["fisher"], fisherConv+fisherFC, 5e-3) {
		t.Errorf("fisher %v, want %v (conv %v + fc %v)", got["fisher"], fisherConv+fisherFC, fisherConv, fisherFC)
	}
}

// grasp = -theta^T H g, checked against a second difference of the loss itself:
// theta^T H g = d2 L(theta + s theta + t g) / ds dt at 0.
func TestGraspAgainstSecondDifferences(t *testing.T) {
	net := tiny(t)
	b := Batch{N: 2, X: []float32{0.5, -1, 2, 0.25, -0.3, 0.8, 1.5, -2}, Y: []float32{0, 1, 1, 0}}
	m, err := nn.Compile(net, 2, rng(9))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := nn.NewProbe(m, nn.CrossEntropy, nn.Weights)
	defer p.Close()
	if err := p.Run(b.X, b.Y); err != nil {
		t.Fatal(err)
	}
	weights := m.WeightValues()
	theta := make([][]float32, len(weights))
	g := make([][]float32, len(weights))
	for i, w := range weights {
		theta[i], g[i] = slices.Clone(w), slices.Clone(p.Grad(i))
	}
	at := func(s, u float64) float64 {
		for i, v := range weights {
			for j := range v {
				v[j] = theta[i][j] + float32(s)*theta[i][j] + float32(u)*g[i][j]
			}
		}
		if err := p.Run(b.X, b.Y); err != nil {
			t.Fatal(err)
		}
		return p.Cost()
	}
	const h = 3e-2
	thg := (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
	at(0, 0)
	got, err := Score([]string{"grasp"}, net, b, 9)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got["grasp"], -thg, 0.05) {
		t.Errorf("grasp %v, second differences give %v", got["grasp"], -thg)
	}
}

func TestBadInput(t *testing.T) {
	net := nb201(t, resnetCell, 4, 1, [3]int{1, 8, 8})
	if _, err := Score([]string{"synflow", "magic"}, net, Batch{}, 1); err == nil || !strings.Contains(err.Error(), `unknown proxy "magic"`) {
		t.Errorf("unknown proxy: %v", err)
	}
	if _, err := Score([]string{"snip"}, net, Batch{N: 2, X: make([]float32, 10)}, 1); err == nil || !strings.Contains(err.Error(), "1x8x8") {
		t.Errorf("a batch of the wrong shape: %v", err)
	}
	// NaN inputs: every score defined and finite.
	b := NoiseBatch(4, [3]int{1, 8, 8}, 10, 1)
	for i := range b.X {
		b.X[i] = float32(math.NaN())
	}
	got, err := Score(Names(), net, b, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("NaN inputs: %s = %v", k, v)
		}
	}
	// A network that does not end in a linear layer: an error, not a panic.
	nb := spaces.NewNetBuilder(spaces.Shape{C: 1, H: 2, W: 2})
	bad, _ := nb.Finish(nb.Add(spaces.Layer{Kind: spaces.ReLU, Name: "relu", Inputs: []int{0}}))
	if _, err := Score([]string{"synflow"}, bad, Batch{}, 1); err == nil {
		t.Error("a network without a linear output was scored")
	}
}

// Scores are a function of (arch, batch, seed).
func TestScoresAreDeterministic(t *testing.T) {
	net := nb201(t, resnetCell, 4, 1, [3]int{1, 8, 8})
	b := NoiseBatch(4, [3]int{1, 8, 8}, 10, 1)
	a, err := Score(Names(), net, b, 2)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Score(Names(), net, b, 2)
	for k := range a {
		if a[k] != c[k] {
			t.Errorf("%s: %v then %v", k, a[k], c[k])
		}
	}
}

// The benchmark scores grad_norm, snip and fisher in one shared pass; the scores are
// those of scoring each alone.
func TestBenchSharesPasses(t *testing.T) {
	if got := passes([]string{"snip", "synflow", "grad_norm", "naswot"}); len(got) != 3 || len(got[2]) != 2 {
		t.Fatalf("passes %v", got)
	}
	b := NoiseBatch(4, [3]int{1, 8, 8}, 10, 1)
	var nets []*spaces.Net
	for _, a := range []string{resnetCell, "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|skip_connect~2|", "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"} {
		nets = append(nets, nb201(t, a, 4, 1, [3]int{1, 8, 8}))
	}
	res, err := Bench(context.Background(), BenchConfig{Nets: nets, Truth: []float64{3, 1, 2}, Names: []string{"snip", "naswot", "grad_norm"}, Batch: b, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		for i, net := range nets {
			alone, _ := Score([]string{r.Name}, net, b, 1)
			if r.Scores[i] != alone[r.Name] {
				t.Errorf("%s of net %d: %v in the bench, %v alone", r.Name, i, r.Scores[i], alone[r.Name])
			}
		}
	}
}

// grasp's finite difference is the Hessian product only when it does not move with
// its step: with live ReLUs or a step scaled by the weights, a tenth of the step gave
// another score (even of another sign) on NB201 networks.
func TestGraspDoesNotMoveWithItsStep(t *testing.T) {
	for _, cell := range []string{resnetCell, "|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"} {
		net := nb201(t, cell, 8, 2, [3]int{3, 16, 16})
		b := NoiseBatch(32, [3]int{3, 16, 16}, 10, 4)
		at, err := graspWithStep(net, b, 5, graspStep)
		if err != nil {
			t.Fatal(err)
		}
		tenth, err := graspWithStep(net, b, 5, graspStep/10)
		if err != nil {
			t.Fatal(err)
		}
		if !near(at, tenth, 0.03) {
			t.Errorf("%s: grasp %v at its step, %v at a tenth of it", cell, at, tenth)
		}
	}
}

// live_params counts only what the output depends on: a conv into a node the cell's
// output cannot see is in params, not in live_params, so a cell with such a branch
// scores as the cell without it does.
func TestLiveParams(t *testing.T) {
	const deadBranch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|" // node 2 is cut off
	const without = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
	score := func(arch string) map[string]float64 {
		t.Helper()
		got, err := Score([]string{"params", "live_params"}, nb201(t, arch, 4, 1, [3]int{1, 8, 8}), Batch{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	dead, clean, resnet := score(deadBranch), score(without), score(resnetCell)
	if dead["params"] <= clean["params"] || dead["live_params"] != clean["live_params"] || clean["live_params"] != clean["params"] {
		t.Errorf("with the dead branch %v, without %v", dead, clean)
	}
	if resnet["live_params"] != resnet["params"] {
		t.Errorf("every edge of the ResNet cell reaches the output: %v", resnet)
	}
	if NeedsData("live_params") {
		t.Error("live_params reads the batch")
	}
}

// The process-wide cache of data-free scores keeps spaces of one name but other
// options apart: a wider NB201 skeleton has more params, and DataFree says so even
// after the narrower one's score was cached.
func TestDataFreeKeepsSpacesApart(t *testing.T) {
	var got []float64
	for _, channels := range []int{4, 8, 4} {
		s, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.CIFAR, Channels: channels, Cells: 1})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.Parse([]byte(resnetCell))
		if err != nil {
			t.Fatal(err)
		}
		v, err := DataFree(s, "params", a)
		if err != nil {
			t.Fatal(err)
		}
		net, _ := s.Network(a)
		if v != float64(net.Params()) {
			t.Errorf("%d channels: DataFree params %v, the network has %d", channels, v, net.Params())
		}
		got = append(got, v)
	}
	if got[0] == got[1] || got[0] != got[2] {
		t.Errorf("params at 4, 8, 4 channels: %v", got)
	}
}
