package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MLP is a small regression network over feature vectors (an architecture's
// encoding), for learned performance predictors: ReLU hidden layers and one linear
// output, trained by gorgonia on the mean squared error with Adam, full batch. It
// predicts in plain Go from the same weights, so any number of candidates can be
// ranked without building a graph per batch.
type MLP struct {
	in     int
	sizes  []int       // layer widths, in to 1
	w, b   [][]float32 // per layer: w is in x out, row-major
	mu, sd float64     // the targets' standardisation
	rng    *rand.Rand
}

// NewMLP builds an MLP with the given hidden widths, initialised from seed as
// PyTorch initialises linear layers.
func NewMLP(in int, hidden []int, seed uint64) *MLP {
	m := &MLP{in: in, sizes: append(append([]int{in}, hidden...), 1), rng: rand.New(rand.NewPCG(seed, seed^0x31b))}
	m.reset()
	return m
}

func (m *MLP) reset() {
	m.w, m.b = nil, nil
	for l := 0; l+1 < len(m.sizes); l++ {
		fanIn, out := m.sizes[l], m.sizes[l+1]
		bound := 1 / math.Sqrt(float64(fanIn))
		m.w = append(m.w, uniform(m.rng, fanIn*out, bound))
		m.b = append(m.b, uniform(m.rng, out, bound))
	}
}

// Fit trains the network afresh on (x, y) for epochs full-batch Adam steps at
// learning rate lr.
func (m *MLP) Fit(x [][]float64, y []float64, epochs int, lr float64) error {
	n := len(x)
	if n == 0 || len(y) != n {
		return fmt.Errorf("nn: mlp: %d inputs and %d targets", n, len(y))
	}
	m.reset()
	m.mu, m.sd = 0, 0
	for _, v := range y {
		m.mu += v
	}
	m.mu /= float64(n)
	for _, v := range y {
		m.sd += (v - m.mu) * (v - m.mu)
	}
	m.sd = math.Sqrt(m.sd / float64(n))
	if m.sd == 0 || math.IsNaN(m.sd) {
		m.sd = 1
	}
	g := G.NewGraph()
	xs := make([]float32, n*m.in)
	for i, row := range x {
		if len(row) != m.in {
			return fmt.Errorf("nn: mlp: input %d has %d features, want %d", i, len(row), m.in)
		}
		for j, v := range row {
			xs[i*m.in+j] = float32(v)
		}
	}
	ys := make([]float32, n)
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("nn: mlp: target %d is %v", i, v)
		}
		ys[i] = float32((v - m.mu) / m.sd)
	}
	h := G.NewMatrix(g, tensor.Float32, G.WithShape(n, m.in), G.WithValue(newDense(tensor.Shape{n, m.in}, xs)), G.WithName("x"))
	var params []*G.Node
	for l := range m.w {
		fanIn, out := m.sizes[l], m.sizes[l+1]
		w := G.NewMatrix(g, tensor.Float32, G.WithShape(fanIn, out), G.WithValue(newDense(tensor.Shape{fanIn, out}, m.w[l])), G.WithName(fmt.Sprintf("w%d", l)))
		b := G.NewMatrix(g, tensor.Float32, G.WithShape(1, out), G.WithValue(newDense(tensor.Shape{1, out}, m.b[l])), G.WithName(fmt.Sprintf("b%d", l)))
		params = append(params, w, b)
		var err error
		if h, err = G.Mul(h, w); err != nil {
			return err
		}
		if h, err = G.BroadcastAdd(h, b, nil, []byte{0}); err != nil {
			return err
		}
		if l+2 < len(m.sizes) {
			if h, err = relu(h); err != nil {
				return err
			}
		}
	}
	target := G.NewMatrix(g, tensor.Float32, G.WithShape(n, 1), G.WithValue(newDense(tensor.Shape{n, 1}, ys)), G.WithName("y"))
	diff, err := G.Sub(h, target)
	if err != nil {
		return err
	}
	sq, err := G.Square(diff)
	if err != nil {
		return err
	}
	loss, err := G.Mean(sq)
	if err != nil {
		return err
	}
	if _, err := G.Grad(loss, params...); err != nil {
		return err
	}
	vm := G.NewTapeMachine(g, G.BindDualValues(params...))
	defer vm.Close()
	adam := newAdam(params, lr)
	for e := 0; e < epochs; e++ {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			return err
		}
		if err := adam.step(params); err != nil {
			return err
		}
	}
	return nil
}

// Predict is the network's prediction for each row of x, in the targets' units.
func (m *MLP) Predict(x [][]float64) []float64 {
	out := make([]float64, len(x))
	act := make([]float64, 0, 256)
	next := make([]float64, 0, 256)
	for i, row := range x {
		act = append(act[:0], row...)
		for l := range m.w {
			fanIn, width := m.sizes[l], m.sizes[l+1]
			next = next[:0]
			for o := 0; o < width; o++ {
				s := float64(m.b[l][o])
				for j := 0; j < fanIn; j++ {
					s += act[j] * float64(m.w[l][j*width+o])
				}
				if l+2 < len(m.sizes) {
					s = math.Max(s, 0)
				}
				next = append(next, s)
			}
			act, next = next, act
		}
		out[i] = act[0]*m.sd + m.mu
	}
	return out
}

// adam is the Adam optimiser (Kingma and Ba) over float32 parameters; it zeroes the
// gradients after each step, as gorgonia adds each run's to the last.
type adam struct {
	lr, b1, b2, eps float64
	t               int
	m, v            [][]float64
}

func newAdam(params []*G.Node, lr float64) *adam {
	a := &adam{lr: lr, b1: 0.9, b2: 0.999, eps: 1e-8}
	for _, p := range params {
		n := p.Shape().TotalSize()
		a.m, a.v = append(a.m, make([]float64, n)), append(a.v, make([]float64, n))
	}
	return a
}

func (a *adam) step(params []*G.Node) error {
	a.t++
	c1, c2 := 1-math.Pow(a.b1, float64(a.t)), 1-math.Pow(a.b2, float64(a.t))
	for i, p := range params {
		gv, err := p.Grad()
		if err != nil {
			return fmt.Errorf("nn: %s has no gradient: %w", p.Name(), err)
		}
		g, w := gv.Data().([]float32), p.Value().Data().([]float32)
		for j := range w {
			gj := float64(g[j])
			a.m[i][j] = a.b1*a.m[i][j] + (1-a.b1)*gj
			a.v[i][j] = a.b2*a.v[i][j] + (1-a.b2)*gj*gj
			w[j] -= float32(a.lr * (a.m[i][j] / c1) / (math.Sqrt(a.v[i][j]/c2) + a.eps))
			g[j] = 0
		}
	}
	return nil
}
