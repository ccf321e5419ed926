package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"cellar/spaces"
)

// reluNet is conv, batch norm, ReLU, conv, ReLU, global pool and linear.
func reluNet() *spaces.Net {
	L := []spaces.Layer{{ID: 0, Kind: spaces.Input, Shape: spaces.Shape{C: 2, H: 6, W: 6}}}
	add := func(l spaces.Layer, s spaces.Shape) int {
		l.ID, l.Shape = len(L), s
		L = append(L, l)
		return l.ID
	}
	s := spaces.Shape{C: 4, H: 6, W: 6}
	a := add(spaces.Layer{Kind: spaces.Conv, Inputs: []int{0}, OutC: 4, Kernel: 3, Stride: 1, Pad: 1, Dilation: 1, Groups: 1}, s)
	a = add(spaces.Layer{Kind: spaces.BatchNorm, Inputs: []int{a}, Affine: true}, s)
	a = add(spaces.Layer{Kind: spaces.ReLU, Inputs: []int{a}}, s)
	a = add(spaces.Layer{Kind: spaces.Conv, Inputs: []int{a}, OutC: 4, Kernel: 3, Stride: 1, Pad: 1, Dilation: 1, Groups: 1}, s)
	a = add(spaces.Layer{Kind: spaces.ReLU, Inputs: []int{a}}, s)
	p := add(spaces.Layer{Kind: spaces.GlobalPool, Inputs: []int{a}}, spaces.Shape{C: 4, H: 1, W: 1})
	out := add(spaces.Layer{Kind: spaces.Linear, Inputs: []int{p}, OutC: 3, Bias: true}, spaces.Shape{C: 3, H: 1, W: 1})
	return &spaces.Net{Layers: L, Output: out}
}

// With its activations fixed, a network passes the recorded units wherever its
// weights move, and its gradient is the derivative of that (smooth) network.
func TestFixedActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const batch = 4
	m, err := CompileWith(reluNet(), batch, rng, CompileOptions{ReadReLUs: true})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, batch*2*36)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, batch*3)
	for b := range batch {
		y[b*3+b%3] = 1
	}
	p, err := NewProbe(m, CrossEntropy, Weights)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	run := func() (grads [][]float32, passed [][]bool) {
		t.Helper()
		if err := p.Run(x, y); err != nil {
			t.Fatal(err)
		}
		for i := range m.weights {
			grads = append(grads, slices.Clone(p.Grad(i)))
		}
		for _, r := range m.relus {
			var on []bool
			for _, v := range values(r) {
				on = append(on, v != 0)
			}
			passed = append(passed, on)
		}
		return grads, passed
	}
	live, livePassed := run()

	m.FixActivations()
	recorded, recordedPassed := run()
	if !slices.EqualFunc(live, recorded, slices.Equal) || !slices.EqualFunc(livePassed, recordedPassed, slices.Equal) {
		t.Fatal("the recording run differs from a live one")
	}

	// Move every weight far enough that units cross zero.
	theta := make([][]float32, len(m.weights))
	dir := make([][]float32, len(m.weights))
	for i, w := range m.weights {
		theta[i] = slices.Clone(values(w))
		for range theta[i] {
			dir[i] = append(dir[i], float32(rng.NormFloat64()))
		}
	}
	moveTo := func(h float32) {
		for i, w := range m.weights {
			for j := range values(w) {
				values(w)[j] = theta[i][j] + h*dir[i][j]
			}
		}
	}
	moveTo(0.5)
	fixed, fixedPassed := run()
	negative := false
	for k, r := range m.relus {
		for i, v := range values(r) {
			if (v != 0) != livePassed[k][i] && v == v {
				t.Fatalf("relu %d unit %d: passed %v, recorded %v", k, i, v != 0, livePassed[k][i])
			}
			negative = negative || v < 0
		}
	}
	if !negative {
		t.Fatal("no recorded unit went negative: the move did not test replaying")
	}

	// The fixed network's gradient against its own loss: a central difference along
	// each weight's direction.
	for i := range m.weights {
		var sym float64
		for j := range dir[i] {
			sym += float64(dir[i][j] * fixed[i][j])
		}
		lossAt := func(h float32) float64 {
			moveTo(0.5)
			for j := range values(m.weights[i]) {
				values(m.weights[i])[j] += h * dir[i][j]
			}
			run()
			return p.Cost()
		}
		const h = 1e-2
		num := (lossAt(h) - lossAt(-h)) / (2 * h)
		if math.Abs(num-sym) > 0.01*math.Max(math.Abs(sym), 1e-2) {
			t.Errorf("weight %d: directional derivative %.5f, finite difference of the fixed network %.5f", i, sym, num)
		}
	}

	m.FreeActivations()
	_, freed := run()
	if slices.EqualFunc(freed, fixedPassed, slices.Equal) {
		t.Error("freed activations still pass the recorded units")
	}
	moveTo(0)
	again, _ := run()
	if !slices.EqualFunc(again, live, slices.Equal) {
		t.Error("after freeing, the network's gradient is not the live one")
	}
}
