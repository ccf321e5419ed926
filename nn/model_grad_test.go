package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/spaces"
)

// TestModelGradients checks the compiled networks' loss gradients, for one arch of
// each space, against finite differences on a sample of every parameter.
func TestModelGradients(t *testing.T) {
	// 16x16 inputs and a batch of 8 keep every batch norm over enough values to be
	// well conditioned (over 4 values of a 1x1 map it is nearly singular).
	small := spaces.Options{Input: [3]int{1, 16, 16}, Classes: 3}
	nb, _ := spaces.NewNB201(spaces.NB201Options{Options: small, Channels: 4, Cells: 1})
	cell, _ := spaces.NewCell(spaces.CellOptions{Options: small, Nodes: 2, Layers: 3, Channels: 2})
	network, _ := spaces.NewNetwork(spaces.NetworkOptions{Options: small, Stem: 4})
	for _, tc := range []struct {
		space spaces.Space
		arch  string
	}{
		{nb, "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"},
		{cell, "normal=|sep_conv_3x3~0|dilated_conv_3x3~1|+|conv_5x5~2|max_pool_3x3~0|;reduce=|skip_connect~0|identity~1|+|avg_pool_3x3~2|sep_conv_5x5~1|"},
		{network, "|conv,d=1,w=16,k=3,e=1|bottleneck,d=1,w=16,k=5,e=2|mbconv,d=2,w=16,k=3,e=4|"},
	} {
		a, err := tc.space.Parse([]byte(tc.arch))
		if err != nil {
			t.Fatal(err)
		}
		net, err := tc.space.Network(a)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		const batch = 8
		m, err := Compile(net, batch, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, batch*256)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, batch*3)
		for b := 0; b < batch; b++ {
			y[b*3+b%3] = 1
		}
		G.Let(m.X, newDense(tensor.Shape{batch, 1, 16, 16}, x))
		G.Let(m.Y, newDense(tensor.Shape{batch, 3}, y))
		if _, err := G.Grad(m.Loss, m.Params...); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(m.Graph, G.BindDualValues(m.Params...))
		loss := func() float64 {
			vm.Reset()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			return float64(m.Loss.Value().Data().(float32))
		}
		loss()
		grads := make([][]float32, len(m.Params))
		for i, p := range m.Params {
			g, _ := p.Grad()
			grads[i] = append([]float32(nil), g.Data().([]float32)...)
		}
		// The directional derivative along random directions: finite differences of a
		// ReLU network are noisy element by element (steps cross kinks), but along a
		// direction over all parameters they must agree closely.
		for trial := 0; trial < 3; trial++ {
			dirs := make([][]float32, len(m.Params))
			var dot float64
			for i, p := range m.Params {
				dirs[i] = make([]float32, p.Shape().TotalSize())
				for j := range dirs[i] {
					dirs[i][j] = float32(rng.NormFloat64())
					dot += float64(dirs[i][j] * grads[i][j])
				}
			}
			move := func(scale float32) {
				for i, p := range m.Params {
					w := p.Value().Data().([]float32)
					for j := range w {
						w[j] += scale * dirs[i][j]
					}
				}
			}
			const h = 1e-3
			move(h)
			up := loss()
			move(-2 * h)
			down := loss()
			move(h)
			num := (up - down) / (2 * h)
			if math.Abs(num-dot) > 0.05*math.Abs(dot) {
				t.Errorf("%s: directional derivative: symbolic %.5f, numeric %.5f", tc.space.Name(), dot, num)
			}
			t.Logf("%s: directional derivative: symbolic %.5f, numeric %.5f", tc.space.Name(), dot, num)
		}
		vm.Close()
	}
}
