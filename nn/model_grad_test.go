package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/spaces"
)

// kinkFreeNet uses every layer kind the compiler knows except ReLU, max pooling and
// factorized reduce (which starts with a ReLU):
// without kinks, finite differences of the whole network are exact enough to check the
// composed gradient to 1%. (Each op, kinks included, has its own check in grad_test.)
func kinkFreeNet() *spaces.Net {
	L := []spaces.Layer{{ID: 0, Kind: spaces.Input, Shape: spaces.Shape{C: 2, H: 8, W: 8}}}
	add := func(l spaces.Layer, s spaces.Shape) int {
		l.ID, l.Shape = len(L), s
		L = append(L, l)
		return l.ID
	}
	conv := func(in, outC, k, stride, dil, groups int, s spaces.Shape) int {
		return add(spaces.Layer{Kind: spaces.Conv, Inputs: []int{in}, OutC: outC, Kernel: k, Stride: stride, Pad: dil * (k - 1) / 2, Dilation: dil, Groups: groups}, s)
	}
	a := conv(0, 4, 3, 1, 1, 1, spaces.Shape{C: 4, H: 8, W: 8})
	a = add(spaces.Layer{Kind: spaces.BatchNorm, Inputs: []int{a}, Affine: true}, spaces.Shape{C: 4, H: 8, W: 8})
	b := conv(a, 4, 3, 1, 2, 4, spaces.Shape{C: 4, H: 8, W: 8}) // dilated depthwise
	b = conv(b, 4, 1, 1, 1, 1, spaces.Shape{C: 4, H: 8, W: 8})
	c := add(spaces.Layer{Kind: spaces.AvgPool, Inputs: []int{a}, Kernel: 3, Stride: 1, Pad: 1}, spaces.Shape{C: 4, H: 8, W: 8})
	z := add(spaces.Layer{Kind: spaces.Zero, Inputs: []int{a}}, spaces.Shape{C: 4, H: 8, W: 8})
	s := add(spaces.Layer{Kind: spaces.Add, Inputs: []int{b, c, z, a}}, spaces.Shape{C: 4, H: 8, W: 8}) // fan-out of a
	r := conv(s, 4, 1, 2, 1, 1, spaces.Shape{C: 4, H: 4, W: 4})                                         // factorized reduce has a ReLU: see TestFactReduceGradients
	d := conv(s, 4, 5, 2, 1, 2, spaces.Shape{C: 4, H: 4, W: 4})                                         // grouped, strided
	cat := add(spaces.Layer{Kind: spaces.Concat, Inputs: []int{r, d}}, spaces.Shape{C: 8, H: 4, W: 4})
	cat = add(spaces.Layer{Kind: spaces.BatchNorm, Inputs: []int{cat}, Affine: true}, spaces.Shape{C: 8, H: 4, W: 4})
	p := add(spaces.Layer{Kind: spaces.GlobalPool, Inputs: []int{cat}}, spaces.Shape{C: 8, H: 1, W: 1})
	out := add(spaces.Layer{Kind: spaces.Linear, Inputs: []int{p}, OutC: 3, Bias: true}, spaces.Shape{C: 3, H: 1, W: 1})
	return &spaces.Net{Layers: L, Output: out}
}

// TestModelGradients compares each parameter's gradient in a compiled network with
// the finite difference of the loss along a random direction.
func TestModelGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const batch = 8
	m, err := Compile(kinkFreeNet(), batch, rng)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, batch*2*64)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, batch*3)
	for b := 0; b < batch; b++ {
		y[b*3+b%3] = 1
	}
	G.Let(m.x, newDense(tensor.Shape{batch, 2, 8, 8}, x))
	G.Let(m.y, newDense(tensor.Shape{batch, 3}, y))
	if _, err := G.Grad(m.loss, m.params...); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(m.graph, G.BindDualValues(m.params...))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	// Read every gradient now: later runs add to them.
	grads := make([][]float32, len(m.params))
	for i, p := range m.params {
		g, err := p.Grad()
		if err != nil {
			t.Fatal(err)
		}
		grads[i] = append([]float32(nil), g.Data().([]float32)...)
	}
	fwd := G.NewTapeMachine(m.graph.SubgraphRoots(m.loss))
	defer fwd.Close()
	loss := func() float64 {
		fwd.Reset()
		if err := fwd.RunAll(); err != nil {
			t.Fatal(err)
		}
		return float64(m.loss.Value().Data().(float32))
	}
	for i, p := range m.params {
		w := p.Value().Data().([]float32)
		dir := make([]float32, len(w))
		var sym float64
		for j := range dir {
			dir[j] = float32(rng.NormFloat64())
			sym += float64(dir[j] * grads[i][j])
		}
		move := func(h float32) {
			for j := range w {
				w[j] += h * dir[j]
			}
		}
		const h = 3e-3
		move(h)
		up := loss()
		move(-2 * h)
		down := loss()
		move(h)
		num := (up - down) / (2 * h)
		if math.Abs(num-sym) > 0.01*math.Max(math.Abs(sym), 1e-2) {
			t.Errorf("%s: directional derivative %.5f, finite difference %.5f", p.Name(), sym, num)
		}
	}
}

func TestFactReduceGradients(t *testing.T) {
	for _, hw := range []int{6, 7} { // even and odd sizes: the shifted path reads zeros past an odd edge
		l := spaces.Layer{Kind: spaces.FactReduce, OutC: 4, Shape: spaces.Shape{C: 4, H: (hw-1)/2 + 1, W: (hw-1)/2 + 1}}
		s := spaces.Shape{C: 3, H: hw, W: hw}
		checkGrad(t, fmt.Sprintf("factreduce %d", hw), []tensor.Shape{{2, 3, hw, hw}, {2, 3, 1, 1}, {2, 3, 1, 1}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return compileFactReduce(l, s, 2, in[0], func(i int, _ tensor.Shape) *G.Node { return in[1+i] })
		})
	}
}
