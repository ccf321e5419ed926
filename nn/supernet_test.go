package nn

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/spaces"
)

func TestMixGradients(t *testing.T) {
	s := tensor.Shape{2, 2, 3, 3}
	checkGrad(t, "mix", []tensor.Shape{s, s, s, {3}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.ApplyOp(&mixOp{k: 3, dims: 4, id: 7}, in...)
	})
}

// tinySupernet is NB201's supernet at 2 channels, one cell a stage, on MNIST.
func tinySupernet(t *testing.T, batch int) (*Supernet, *spaces.NB201) {
	t.Helper()
	space, err := spaces.NewNB201(spaces.NB201Options{Options: mnistShape, Channels: 2, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := space.Supernet(spaces.SupernetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSupernet(spec, batch, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, space
}

func rows(n, k int, rng *rand.Rand) [][]float32 {
	w := make([][]float32, n)
	for i := range w {
		w[i] = make([]float32, k)
		for j := range w[i] {
			w[i][j] = float32(0.2 + rng.Float64())
		}
	}
	return w
}

// The gradient with respect to an edge's mixing weights, summed over the cells that
// share the edge, against central differences of the loss.
func TestSupernetMixGrad(t *testing.T) {
	s, _ := tinySupernet(t, 8)
	d := mnist(t).Train.Slice(0, 8)
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	rng := rand.New(rand.NewPCG(4, 5))
	w := rows(len(s.Spec.Edges), len(s.Spec.Ops), rng)
	_, grad, err := s.MixGrad(d, idx, w)
	if err != nil {
		t.Fatal(err)
	}
	loss := func() float64 {
		l, _, err := s.MixGrad(d, idx, w)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	const eps = 1e-2
	for e := range w {
		for o := range w[e] {
			if s.Spec.Ops[o] == "none" {
				if grad[e][o] != 0 {
					t.Errorf("edge %d none: gradient %g, want 0", e, grad[e][o])
				}
				continue
			}
			v := w[e][o]
			w[e][o] = v + eps
			up := loss()
			w[e][o] = v - eps
			down := loss()
			w[e][o] = v
			fd := (up - down) / (2 * eps)
			if math.Abs(fd-grad[e][o]) > 0.05*math.Abs(fd)+2e-3 {
				t.Errorf("edge %d op %s: gradient %g, finite difference %g", e, s.Spec.Ops[o], grad[e][o], fd)
			}
		}
	}
}

// With an arch's path weights the supernet computes that arch's network: given the
// same weights, the same logits.
func TestSupernetPathIsArch(t *testing.T) {
	s, space := tinySupernet(t, 4)
	d := mnist(t).Train.Slice(0, 4)
	idx := []int{0, 1, 2, 3}
	a, _ := space.Parse([]byte("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"))
	net, err := space.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(net, 4, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// Supernet parameters are named like the arch's with the edge's op inserted after
	// the edge ("stage0/cell0/node2/edge1/nor_conv_1x1/conv/w").
	shared := map[string][]float32{}
	for _, p := range s.m.params {
		shared[p.Name()[strings.Index(p.Name(), ":")+1:]] = p.Value().Data().([]float32)
	}
	edgeOp := map[string]string{}
	for i, e := range [][2]int{{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}} {
		edgeOp[fmt.Sprintf("node%d/edge%d", e[0], e[1])] = spaces.NB201Ops[a.(spaces.NB201Arch)[i]]
	}
	edgeRE := regexp.MustCompile(`node\d/edge\d`)
	for _, p := range m.params {
		name := p.Name()[strings.Index(p.Name(), ":")+1:]
		name = edgeRE.ReplaceAllStringFunc(name, func(e string) string { return e + "/" + edgeOp[e] })
		v, ok := shared[name]
		if !ok || len(v) != p.Shape().TotalSize() {
			t.Fatalf("supernet has no %s of %d values", name, p.Shape().TotalSize())
		}
		copy(p.Value().Data().([]float32), v)
	}
	vm := G.NewTapeMachine(m.graph.SubgraphRoots(m.logits))
	defer vm.Close()
	xs, ys := make([]float32, 4*28*28), make([]float32, 40)
	d.Fill(idx, xs, ys)
	G.Let(m.x, newDense(tensor.Shape{4, 1, 28, 28}, xs))
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := values(m.logits)
	if err := s.setMix(space.PathWeights(a)); err != nil {
		t.Fatal(err)
	}
	d.Fill(idx, s.xs, s.ys)
	if err := s.evalVM.RunAll(); err != nil {
		t.Fatal(err)
	}
	s.evalVM.Reset()
	got := values(s.m.logits)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("logit %d: supernet %g, arch %g", i, got[i], want[i])
		}
	}
}

// Training resumes exactly from a saved state, and a state of another shape is refused.
func TestSupernetResume(t *testing.T) {
	s, space := tinySupernet(t, 8)
	d := mnist(t).Train.Slice(0, 64)
	steps := func(seed uint64, n int) []float64 {
		rng := rand.New(rand.NewPCG(seed, 2))
		var out []float64
		for range n {
			l, err := s.TrainStep(d, rng.Perm(64)[:8], space.PathWeights(space.Sample(rng)), 0.05, 0.9, 3e-4)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
		return out
	}
	steps(1, 3)
	saved, _ := s.MarshalBinary()
	first := steps(2, 3)
	if err := s.UnmarshalBinary(saved); err != nil {
		t.Fatal(err)
	}
	if again := steps(2, 3); !slices.Equal(first, again) {
		t.Errorf("after restore: %v, first time %v", again, first)
	}
	if first[0] == first[1] && first[1] == first[2] {
		t.Errorf("training changed nothing: %v", first)
	}
	bigger, err := spaces.NewNB201(spaces.NB201Options{Options: mnistShape, Channels: 4, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := bigger.Supernet(spaces.SupernetOptions{})
	other, err := NewSupernet(spec, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.UnmarshalBinary(saved); err == nil || !strings.Contains(err.Error(), "other options") {
		t.Errorf("restore into another shape: %v", err)
	}
	if err := s.UnmarshalBinary(bytes.Repeat([]byte{1}, 40)); err == nil {
		t.Error("garbage restored")
	}
}

// Switching off the branches of zero weight changes nothing: the same losses, weights
// and accuracies as running every branch.
func TestSupernetSkipsUnusedBranches(t *testing.T) {
	gated, space := tinySupernet(t, 8)
	full, _ := tinySupernet(t, 8)
	full.noSkip = true
	d := mnist(t).Train.Slice(0, 64)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 4 {
		idx := rng.Perm(64)[:8]
		w := space.PathWeights(space.Sample(rng))
		if i == 3 { // a step of the relaxation, nothing off
			w = rows(len(w), len(w[0]), rng)
		}
		lg, err := gated.TrainStep(d, idx, w, 0.1, 0.9, 1e-4)
		if err != nil {
			t.Fatal(err)
		}
		lf, _ := full.TrainStep(d, idx, w, 0.1, 0.9, 1e-4)
		if lg != lf {
			t.Fatalf("step %d: loss %v gated, %v in full", i, lg, lf)
		}
	}
	for i, w := range gated.Weights() {
		if !slices.Equal(w, full.Weights()[i]) {
			t.Fatalf("parameter %d differs", i)
		}
	}
	w := space.PathWeights(space.Sample(rng))
	ctx := context.Background()
	batches := [][]int{{0, 1, 2, 3, 4, 5, 6, 7}, {8, 9, 10, 11, 12, 13, 14, 15}}
	var sc [2]Score
	for i, s := range []*Supernet{gated, full} {
		if err := s.Recalibrate(ctx, d, batches, w); err != nil {
			t.Fatal(err)
		}
		var err error
		if sc[i], err = s.Score(ctx, d, w); err != nil {
			t.Fatal(err)
		}
		if acc, _ := s.Accuracy(ctx, d, w); acc != sc[i].Accuracy {
			t.Errorf("Accuracy %v, Score's %v", acc, sc[i].Accuracy)
		}
	}
	if sc[0] != sc[1] || !(sc[0].Loss > 0) {
		t.Errorf("scores %+v gated, %+v in full", sc[0], sc[1])
	}
}

// BenchmarkSupernetPath times a training step of one sampled path (NB201 supernet, 8
// channels, one cell a stage, MNIST, batch 64), with the unused branches switched off
// and, as the baseline, with every branch run.
func BenchmarkSupernetPath(b *testing.B) {
	space, _ := spaces.NewNB201(spaces.NB201Options{Options: mnistShape, Channels: 8, Cells: 1})
	spec, _ := space.Supernet(spaces.SupernetOptions{})
	d := mnist(b).Train.Slice(0, 640)
	for _, mode := range []string{"gated", "every-branch"} {
		b.Run(mode, func(b *testing.B) {
			s, err := NewSupernet(spec, 64, 1)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.noSkip = mode != "gated"
			rng := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				if _, err := s.TrainStep(d, rng.Perm(640)[:64], space.PathWeights(space.Sample(rng)), 0.05, 0.9, 4e-5); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A step over several paths is one SGD step on the sum of their gradients: the
// weights after TrainPaths are those that Grads of each path, summed, gives by hand.
func TestSupernetTrainPaths(t *testing.T) {
	s, space := tinySupernet(t, 4)
	d := mnist(t).Train.Slice(0, 4)
	idx := []int{0, 1, 2, 3}
	var ws [][][]float32
	for _, arch := range []string{"|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
		"|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"} {
		a, err := space.Parse([]byte(arch))
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, space.PathWeights(a))
	}
	before := s.Weights()
	sum := make([][]float32, len(before))
	var loss float64
	for _, w := range ws {
		l, g, _, err := s.Grads(d, idx, w)
		if err != nil {
			t.Fatal(err)
		}
		loss += l / 2
		for i := range g {
			if sum[i] == nil {
				sum[i] = make([]float32, len(g[i]))
			}
			for j := range g[i] {
				sum[i][j] += g[i][j]
			}
		}
	}
	const lr, wd = 0.1, 0.01
	got, err := s.TrainPaths(d, idx, ws, lr, 0.9, wd)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-loss) > 1e-6 {
		t.Errorf("loss %v, the paths' mean %v", got, loss)
	}
	after := s.Weights()
	moved := 0
	for i := range before {
		for j := range before[i] {
			want := before[i][j]
			if !allZero(sum[i]) { // momentum starts at zero: v = g + wd w
				want -= lr * (sum[i][j] + wd*before[i][j])
			}
			if math.Abs(float64(after[i][j]-want)) > 1e-5*math.Max(1, math.Abs(float64(want))) {
				t.Fatalf("param %d[%d]: %v, want %v", i, j, after[i][j], want)
			}
			if after[i][j] != before[i][j] {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Error("no weight moved")
	}
}
