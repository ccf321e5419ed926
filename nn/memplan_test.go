package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/spaces"
)

// TestPlanMemoryKeepsResults trains the reference cell for three steps with and
// without shared memory, running the forward-only machine between steps as
// training's validation does, and requires the same loss, logits and parameters,
// bit for bit, while the shared model holds fewer output buffers.
func TestPlanMemoryKeepsResults(t *testing.T) {
	s, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 12, 12}, Classes: 10}, Channels: 8, Cells: 2})
	if err != nil {
		t.Fatal(err)
	}
	net := network(t, s, ReferenceArch)
	const batch = 6
	data := rand.New(rand.NewPCG(9, 9))
	x := randFloats(data, batch*144)
	y := make([]float32, batch*10)
	for i := 0; i < batch; i++ {
		y[i*10+data.IntN(10)] = 1
	}
	type result struct {
		losses  []float32
		logits  []float32
		params  [][]float32
		buffers int
	}
	train := func(plan bool) result {
		m, err := Compile(net, batch, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		G.Let(m.x, newDense(tensor.Shape{batch, 1, 12, 12}, x))
		G.Let(m.y, newDense(tensor.Shape{batch, 10}, y))
		if _, err := G.Grad(m.loss, m.params...); err != nil {
			t.Fatal(err)
		}
		if plan {
			m.PlanMemory()
		}
		vm := G.NewTapeMachine(m.graph, G.BindDualValues(m.params...))
		defer vm.Close()
		eval := G.NewTapeMachine(m.graph.SubgraphRoots(m.logits))
		defer eval.Close()
		vel := make([][]float32, len(m.params))
		for i, p := range m.params {
			vel[i] = make([]float32, p.Shape().TotalSize())
		}
		var r result
		for step := 0; step < 3; step++ {
			vm.Reset()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			r.losses = append(r.losses, m.loss.Value().Data().(float32))
			if err := sgdStep(m.params, vel, 0.05, 0.9, 5e-4); err != nil {
				t.Fatal(err)
			}
			eval.Reset()
			if err := eval.RunAll(); err != nil {
				t.Fatal(err)
			}
		}
		r.logits = slices.Clone(m.logits.Value().Data().([]float32))
		for _, p := range m.params {
			r.params = append(r.params, slices.Clone(p.Value().Data().([]float32)))
		}
		seen := map[*float32]bool{}
		for _, n := range m.graph.AllNodes() {
			if v := n.Value(); v != nil {
				if d, _, err := f32(v); err == nil && len(d) > 0 {
					seen[&d[0]] = true
				}
			}
		}
		r.buffers = len(seen)
		return r
	}
	own, shared := train(false), train(true)
	if !slices.Equal(own.losses, shared.losses) {
		t.Fatalf("losses %v with shared memory, %v without", shared.losses, own.losses)
	}
	if !slices.Equal(own.logits, shared.logits) {
		t.Fatal("the validation pass's logits differ with shared memory")
	}
	for i := range own.params {
		if !slices.Equal(own.params[i], shared.params[i]) {
			t.Fatalf("parameter %d differs after three steps with shared memory", i)
		}
	}
	if shared.buffers >= own.buffers {
		t.Fatalf("shared memory left %d distinct output buffers, %d without", shared.buffers, own.buffers)
	}
	t.Logf("distinct output buffers: %d shared, %d own; losses %v", shared.buffers, own.buffers, own.losses)
}

// A closed probe's layer memory serves the next model: a second network of the same
// shape makes no buffer of its own, and computes the same gradients.
func TestClosedProbesLendTheirMemory(t *testing.T) {
	run := func() (grads [][]float32, made, all int) {
		m, err := Compile(reluNet(), 4, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewProbe(m, CrossEntropy, Weights)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 4*2*36)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		if err := p.Run(x, nil); err != nil {
			t.Fatal(err)
		}
		for i := range m.weights {
			grads = append(grads, slices.Clone(p.Grad(i)))
		}
		made, all = m.mem.made, len(m.mem.all)
		p.Close()
		return grads, made, all
	}
	spare.Lock()
	spare.bufs, spare.floats = nil, 0 // what earlier tests left
	spare.Unlock()
	first, made, all := run()
	if made == 0 || all != made {
		t.Fatalf("the first model made %d of its %d buffers", made, all)
	}
	second, made, all := run()
	if made != 0 || all == 0 {
		t.Errorf("the second model made %d of its %d buffers; the first one's were spare", made, all)
	}
	if !slices.EqualFunc(first, second, slices.Equal) {
		t.Error("the second model's gradients differ")
	}
}

// A probe shares the ReLUs' memory unless the model was compiled with ReadReLUs;
// with it, each ReLU's output after a run is what a model keeping every value holds.
func TestReadReLUs(t *testing.T) {
	s, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 12, 12}, Classes: 10}, Channels: 8, Cells: 2})
	if err != nil {
		t.Fatal(err)
	}
	net := network(t, s, ReferenceArch)
	const batch = 4
	x := randFloats(rand.New(rand.NewPCG(9, 9)), batch*144)
	probe := func(read bool) (relus [][]float32, planned int) {
		m, err := CompileWith(net, batch, rand.New(rand.NewPCG(1, 2)), CompileOptions{ReadReLUs: read})
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewProbe(m, CrossEntropy, Weights)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.Run(x, nil); err != nil {
			t.Fatal(err)
		}
		for _, r := range m.relus {
			relus = append(relus, slices.Clone(values(r)))
			if r.Op().(sharer).base().uses > 0 {
				planned++
			}
		}
		return relus, planned
	}
	m := plainRun(t, net, batch, x, nil, nil)
	read, planned := probe(true)
	if planned != 0 {
		t.Errorf("ReadReLUs: %d ReLUs' memory shared", planned)
	}
	for i, r := range m.relus {
		if !slices.Equal(read[i], values(r)) {
			t.Fatalf("ReadReLUs: ReLU %d's output after the run differs from the forward pass's", i)
		}
	}
	if _, planned := probe(false); planned != len(m.relus) {
		t.Errorf("without ReadReLUs, %d of %d ReLUs' memory shared", planned, len(m.relus))
	}
}
