package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"

	"cellar/spaces"
)

// TestGradAsGorgonias differentiates networks of every space, with every NB201 op
// (none, skip, pools, convs; values feeding several ops), once with gorgonia's Grad
// on a plain machine and once with grad in a probe whose memory is planned, and
// requires the same loss and gradients, bit for bit. In the probe no gradient is
// summed by gorgonia's Add, so every summed gradient's memory is planned.
func TestGradAsGorgonias(t *testing.T) {
	in := spaces.Options{Input: [3]int{2, 12, 12}, Classes: 5}
	nb201, err := spaces.NewNB201(spaces.NB201Options{Options: in, Channels: 6, Cells: 2})
	if err != nil {
		t.Fatal(err)
	}
	cell, err := spaces.NewCell(spaces.CellOptions{Options: in, Nodes: 4, Layers: 4, Channels: 6})
	if err != nil {
		t.Fatal(err)
	}
	network, err := spaces.NewNetwork(spaces.NetworkOptions{Options: in, Stem: 8})
	if err != nil {
		t.Fatal(err)
	}
	nets := []struct {
		name  string
		space spaces.Space
		arch  string
	}{
		{"nb201 reference", nb201, ReferenceArch},
		{"nb201 every op", nb201, "|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"},
		{"darts cell", cell, "normal=|sep_conv_3x3~0|sep_conv_5x5~1|+|sep_conv_3x3~0|skip_connect~1|+|max_pool_3x3~1|skip_connect~0|+|skip_connect~0|dilated_conv_3x3~2|;reduce=|max_pool_3x3~0|sep_conv_5x5~1|+|skip_connect~2|max_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~2|+|skip_connect~2|dilated_conv_3x3~1|"},
		{"mbconv", network, "|mbconv,d=1,w=16,k=3,e=6|mbconv,d=2,w=16,k=5,e=6|mbconv,d=1,w=32,k=3,e=2|"},
	}
	const batch = 4
	for _, c := range nets {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.space.Parse([]byte(c.arch))
			if err != nil {
				t.Fatal(err)
			}
			net, err := c.space.Network(a)
			if err != nil {
				t.Fatal(err)
			}
			data := rand.New(rand.NewPCG(3, 3))
			x := randFloats(data, batch*2*12*12)
			y := make([]float32, batch*5)
			for i := 0; i < batch; i++ {
				y[i*5+data.IntN(5)] = 1
			}

			var refGrads G.Nodes // gorgonia's Grad, every value kept
			ref := plainRun(t, net, batch, x, y, func(m *Model) (err error) {
				refGrads, err = G.Grad(m.loss, m.weights...)
				return err
			})

			m, err := Compile(net, batch, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewProbe(m, CrossEntropy, Weights)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			sums := 0
			for _, n := range m.graph.AllNodes() {
				if _, ok := n.Op().(*addOp); ok {
					sums++
				}
				if n.Op() != nil && n.Op().String() == "+" && n.Dims() > 0 {
					t.Errorf("%v sums tensors with gorgonia's Add", n)
				}
			}
			if err := p.Run(x, y); err != nil {
				t.Fatal(err)
			}
			if got, want := p.Cost(), float64(values(ref.loss)[0]); got != want {
				t.Fatalf("loss %v, gorgonia's machine %v", got, want)
			}
			for i := range m.weights {
				if !slices.Equal(p.Grad(i), values(refGrads[i])) {
					t.Fatalf("the gradient of weight %d (%v) differs from gorgonia's", i, m.weights[i].Shape())
				}
			}
			t.Logf("%d weights, %d adds in the graph", len(m.weights), sums)
		})
	}
}

// plainRun compiles net with the weights of seed (1, 2), lets prepare add to its
// graph (gradients), and runs it once on x and y with gorgonia's machine, no memory
// plan: every value is kept, the reference planned runs are checked against.
func plainRun(t *testing.T, net *spaces.Net, batch int, x, y []float32, prepare func(*Model) error) *Model {
	t.Helper()
	m, err := Compile(net, batch, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		if err := prepare(m); err != nil {
			t.Fatal(err)
		}
	}
	if y == nil {
		y = make([]float32, m.y.Shape().TotalSize())
	}
	G.Let(m.x, newDense(m.x.Shape().Clone(), x))
	G.Let(m.y, newDense(m.y.Shape().Clone(), y))
	vm := G.NewTapeMachine(m.graph)
	t.Cleanup(func() { vm.Close() })
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return m
}
