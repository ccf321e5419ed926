package strategies

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"cellar/datasets"
	"cellar/spaces"
)

// edgeSpace is a toy space of one edge between the input and a classifier head
// (ReLU, global average pool, linear): the arch is the edge's op.
type edgeSpace struct{}

var edgeOps = []string{"none", "skip_connect", "avg_pool_3x3", "nor_conv_3x3"}

type edgeArch int

func (a edgeArch) String() string { return edgeOps[a] }

func (edgeSpace) Name() string                      { return "edge" }
func (edgeSpace) SearchDepth() int                  { return 1 }
func (edgeSpace) Sample(rng *rand.Rand) spaces.Arch { return edgeArch(rng.IntN(len(edgeOps))) }
func (edgeSpace) Mutate(a spaces.Arch, rng *rand.Rand) spaces.Arch {
	return edgeArch((int(a.(edgeArch)) + 1 + rng.IntN(3)) % 4)
}
func (edgeSpace) Encode(a spaces.Arch) []float64 { return []float64{float64(a.(edgeArch))} }
func (edgeSpace) Validate(spaces.Arch) error     { return nil }
func (edgeSpace) Neighbours(a spaces.Arch) []spaces.Arch {
	var out []spaces.Arch
	for i := range edgeOps {
		if edgeArch(i) != a {
			out = append(out, edgeArch(i))
		}
	}
	return out
}
func (edgeSpace) Parse(b []byte) (spaces.Arch, error) {
	if i := slices.Index(edgeOps, string(b)); i >= 0 {
		return edgeArch(i), nil
	}
	return nil, fmt.Errorf("edge: unknown op %q", b)
}

// build adds the edge with the given ops (mixed when more than one) and the head.
func (edgeSpace) build(ops []string) (*spaces.Net, int) {
	b := spaces.NewNetBuilder(spaces.Shape{C: 1, H: 8, W: 8})
	var terms []int
	for _, op := range ops {
		switch op {
		case "none":
			terms = append(terms, b.Add(spaces.Layer{Kind: spaces.Zero, Name: op, Inputs: []int{0}}))
		case "skip_connect":
			terms = append(terms, b.Add(spaces.Layer{Kind: spaces.Identity, Name: op, Inputs: []int{0}}))
		case "avg_pool_3x3":
			terms = append(terms, b.Add(spaces.Layer{Kind: spaces.AvgPool, Name: op, Inputs: []int{0}, Kernel: 3, Stride: 1, Pad: 1}))
		case "nor_conv_3x3":
			x := b.Add(spaces.Layer{Kind: spaces.ReLU, Name: op + "/relu", Inputs: []int{0}})
			x = b.Add(spaces.Layer{Kind: spaces.Conv, Name: op + "/conv", Inputs: []int{x}, OutC: 1, Kernel: 3, Stride: 1, Pad: 1, Dilation: 1, Groups: 1})
			terms = append(terms, b.Add(spaces.Layer{Kind: spaces.BatchNorm, Name: op + "/bn", Inputs: []int{x}, Affine: true}))
		}
	}
	mix := terms[0]
	if len(terms) > 1 {
		mix = b.Add(spaces.Layer{Kind: spaces.Add, Name: "mix", Inputs: terms})
	}
	x := b.Add(spaces.Layer{Kind: spaces.ReLU, Name: "head/relu", Inputs: []int{mix}})
	x = b.Add(spaces.Layer{Kind: spaces.GlobalPool, Name: "head/pool", Inputs: []int{x}})
	out := b.Add(spaces.Layer{Kind: spaces.Linear, Name: "head/linear", Inputs: []int{x}, OutC: 2, Bias: true})
	net, err := b.Finish(out)
	if err != nil {
		panic(err)
	}
	return net, mix
}

func (s edgeSpace) Network(a spaces.Arch) (*spaces.Net, error) {
	net, _ := s.build([]string{a.String()})
	return net, nil
}

func (s edgeSpace) Supernet(spaces.SupernetOptions) (*spaces.Supernet, error) {
	net, mix := s.build(edgeOps)
	return &spaces.Supernet{Net: net, Ops: edgeOps, Edges: []string{"edge"}, Mixes: []spaces.Mix{{Layer: mix, Edge: 0}}}, nil
}

func (edgeSpace) PathWeights(a spaces.Arch) [][]float32 {
	w := make([]float32, len(edgeOps))
	w[a.(edgeArch)] = 1
	return [][]float32{w}
}

func (edgeSpace) Derive(w [][]float64) (spaces.Arch, error) {
	best := 0
	for i, v := range w[0] {
		if v > w[0][best] {
			best = i
		}
	}
	return edgeArch(best), nil
}

// checkerData is a toy task that only averaging solves: each image is a checkerboard
// of random amplitude A in [1, 2.5] plus an offset of +-0.3 that is the class. A 3x3
// average pool all but cancels the checkerboard and keeps the offset; after a ReLU
// (the head's, or the conv op's own) without it, the offset cannot be told from A.
func checkerData(n int, seed uint64) *datasets.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &datasets.Dataset{Name: "checker", N: n, C: 1, H: 8, W: 8, Classes: 2, Pixels: make([]uint8, n*64), Labels: make([]uint8, n),
		Mean: []float32{128.0 / 255}, Std: []float32{40.0 / 255}}
	for i := 0; i < n; i++ {
		label := rng.IntN(2)
		d.Labels[i] = uint8(label)
		amp := 1 + 1.5*rng.Float64()
		offset := 0.3
		if label == 0 {
			offset = -0.3
		}
		for y := 0; y < 8; y++ {
			for x := 0; x < 8; x++ {
				sign := 1.0
				if (x+y)%2 == 1 {
					sign = -1
				}
				d.Pixels[i*64+y*8+x] = uint8(128 + 40*(sign*amp+offset))
			}
		}
	}
	return d
}

func toyDarts(t *testing.T, order int) *Darts {
	t.Helper()
	opt := DefaultDarts
	opt.Epochs, opt.Batch, opt.LR, opt.AlphaLR, opt.Order, opt.Depth = 8, 32, 0.1, 0.05, order, 1
	s, err := newDarts(edgeSpace{}, 1, opt, checkerData(512, 1), checkerData(512, 2))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// On the checkerboard task DARTS puts most weight on the average pool and derives it,
// first-order and second-order alike; none is weighted least.
func TestDartsDerivesTheBestOp(t *testing.T) {
	for _, order := range []int{1, 2} {
		s := toyDarts(t, order)
		for s.Learning() {
			if err := s.Learn(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		w := s.Weights()[0]
		got, _ := s.Derived()
		t.Logf("order %d: weights %v over %v", order, w, edgeOps)
		if got.String() != "avg_pool_3x3" {
			t.Errorf("order %d derived %v, want avg_pool_3x3 (weights %v)", order, got, w)
		}
		if w[2] < 0.5 {
			t.Errorf("order %d: avg_pool_3x3 weighs only %.2f", order, w[2])
		}
		if slices.Min(w) != w[0] {
			t.Errorf("order %d: none is not the weakest: %v", order, w)
		}
		if len(s.Reports()) != 8 || s.Reports()[7].Alphas == nil {
			t.Errorf("order %d: %d reports", order, len(s.Reports()))
		}
		cs := s.Ask(4)
		if len(cs) != 1 || cs[0].Arch.String() != "avg_pool_3x3" || len(s.Ask(1)) != 0 {
			t.Errorf("order %d asked %v, then more", order, cs)
		}
	}
}

// A resumed DARTS continues exactly: the same alphas, supernet and batches.
func TestDartsResume(t *testing.T) {
	s := toyDarts(t, 1)
	ctx := context.Background()
	for range 2 {
		if err := s.Learn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	epoch, weights, err := s.LargeState()
	if err != nil || epoch != 2 {
		t.Fatalf("large state at epoch %d: %v", epoch, err)
	}
	if err := s.Learn(ctx); err != nil {
		t.Fatal(err)
	}
	want := s.Weights()
	r := toyDarts(t, 1)
	if err := r.RestoreLargeState(weights); err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(saved); err != nil {
		t.Fatal(err)
	}
	if err := r.Learn(ctx); err != nil {
		t.Fatal(err)
	}
	if got := r.Weights(); !equalRows(got, want) {
		t.Errorf("resumed alphas %v, want %v", got, want)
	}
	// A cancelled epoch leaves the state as before it.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	before, _ := r.State()
	if err := r.Learn(cctx); err == nil {
		t.Fatal("cancelled epoch ran")
	}
	if after, _ := r.State(); string(after) != string(before) {
		t.Error("a cancelled epoch changed the state")
	}
	if err := r.Restore([]byte(`{"alpha": [[1]]}`)); err == nil {
		t.Error("a snapshot of another shape was restored")
	}
}

func equalRows(a, b [][]float64) bool {
	return slices.EqualFunc(a, b, func(x, y []float64) bool { return slices.Equal(x, y) })
}

// DARTS-: an auxiliary skip of weight beta, 1 at the start and 0 at the end, is added
// outside the softmax; the search still derives the best op, and the alphas it learns
// differ from plain DARTS'.
func TestDartsAuxiliarySkip(t *testing.T) {
	plain := toyDarts(t, 1)
	opt := plain.opt
	opt.AuxSkip = true
	s, err := newDarts(edgeSpace{}, 1, opt, checkerData(512, 1), checkerData(512, 2))
	if err != nil {
		t.Fatal(err)
	}
	if b := s.beta(0, 16); b != 1 {
		t.Errorf("beta at the start %v, want 1", b)
	}
	s.epoch = opt.Epochs - 1
	if b := s.beta(15, 16); math.Abs(b-1.0/float64(16*opt.Epochs)) > 1e-12 {
		t.Errorf("beta at the last step %v", b)
	}
	s.epoch = 0
	sm := s.Weights()
	p := s.mixing(sm, 0.25)
	for j := range p[0] {
		want := float32(sm[0][j])
		if edgeOps[j] == "skip_connect" {
			want += 0.25
		}
		if p[0][j] != want {
			t.Errorf("%s mixes at %v, want %v", edgeOps[j], p[0][j], want)
		}
	}
	if q := plain.mixing(sm, 0.25); q[0][1] != float32(sm[0][1]) {
		t.Error("plain DARTS added an auxiliary skip")
	}
	for _, d := range []*Darts{s, plain} {
		for d.Learning() {
			if err := d.Learn(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got, _ := s.Derived(); got.String() != "avg_pool_3x3" {
		t.Errorf("DARTS- derived %v (weights %v)", got, s.Weights())
	}
	if equalRows(s.Weights(), plain.Weights()) {
		t.Error("the auxiliary skip changed nothing")
	}
}

// DrNAS: the mix of each step is a Dirichlet sample (a fresh one per step, summing to
// 1), the search still finds the best op, and it resumes exactly although it draws
// from its random stream at every step.
func TestDartsDirichlet(t *testing.T) {
	drnas := func() *Darts {
		opt := toyDarts(t, 1).opt
		opt.Dirichlet = true
		s, err := newDarts(edgeSpace{}, 1, opt, checkerData(512, 1), checkerData(512, 2))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := drnas()
	a, _ := s.stepWeights()
	b, _ := s.stepWeights()
	if equalRows(a, b) {
		t.Error("two steps drew the same mix")
	}
	var sum float64
	for _, v := range a[0] {
		sum += v
	}
	if math.Abs(sum-1) > 1e-12 || slices.Min(a[0]) < 0 {
		t.Errorf("a drawn mix %v", a[0])
	}
	ctx := context.Background()
	for range 2 {
		if err := s.Learn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	saved, _ := s.State()
	_, weights, _ := s.LargeState()
	r := drnas()
	if err := r.RestoreLargeState(weights); err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(saved); err != nil {
		t.Fatal(err)
	}
	for s.Learning() {
		if err := s.Learn(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.Learn(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !equalRows(r.Weights(), s.Weights()) {
		t.Errorf("resumed DrNAS weights %v, want %v", r.Weights(), s.Weights())
	}
	w := s.Weights()[0]
	t.Logf("DrNAS weights %v over %v", w, edgeOps)
	if got, _ := s.Derived(); got.String() != "avg_pool_3x3" {
		t.Errorf("DrNAS derived %v (weights %v)", got, w)
	}
	opt := s.opt
	opt.DirichletKL = -1
	if _, err := newDarts(edgeSpace{}, 1, opt, checkerData(512, 1), checkerData(512, 2)); err == nil {
		t.Error("a negative dirichlet_kl was taken")
	}
}
