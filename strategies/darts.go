package strategies

import (
	"cellar/learning"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"cellar/datasets"
	"cellar/internal/dirichlet"
	"cellar/nn"
	"cellar/spaces"
)

// DartsOptions configure DARTS. The supernet is sized apart from the space's own
// skeleton (as DARTS searches on 8 cells and evaluates on 20), and takes its input
// shape from the dataset.
type DartsOptions struct {
	Dataset     string  `yaml:"dataset"`      // mnist (built in), fashion-mnist or cifar10
	Path        string  `yaml:"path"`         // the dataset's folder, where it is not built in
	Train       int     `yaml:"train"`        // training examples for the weight steps (5000)
	Val         int     `yaml:"val"`          // held-out training examples for the architecture steps (5000)
	Epochs      int     `yaml:"epochs"`       // (10)
	Batch       int     `yaml:"batch"`        // (64)
	LR          float64 `yaml:"lr"`           // the weights' SGD rate, cosine-annealed (0.025)
	Momentum    float64 `yaml:"momentum"`     // (0.9)
	WeightDecay float64 `yaml:"weight_decay"` // (3e-4)
	AlphaLR     float64 `yaml:"alpha_lr"`     // Adam's rate for the alphas (3e-3)
	AlphaDecay  float64 `yaml:"alpha_decay"`  // weight decay of the alphas (1e-3)
	Order       int     `yaml:"order"`        // 1: first-order gradient; 2: the unrolled second-order one (1)
	Channels    int     `yaml:"channels"`     // of the supernet (8)
	Depth       int     `yaml:"depth"`        // supernet cells: per stage for nb201 (1), in all for cell (5)
	Candidates  int     `yaml:"candidates"`   // archs asked once trained: the derived one, then the likeliest others (1)
	// AuxSkip is DARTS- (Chu et al. 2021): every edge also passes its input through an
	// auxiliary skip connection of weight beta, decaying linearly from 1 to 0 over the
	// search, outside the softmax. Skip connections then no longer have to win the
	// alphas to ease training, which is what makes plain DARTS collapse to them.
	AuxSkip bool `yaml:"aux_skip"`
	// Dirichlet is DrNAS (Chen et al. 2021): each step mixes the ops by a sample of a
	// Dirichlet whose concentrations are ELU(alpha)+1, and the alphas learn through
	// the sample (pathwise gradients), regularised by DirichletKL times the KL
	// divergence to the uniform Dirichlet. The noise of the samples keeps the
	// supernet from settling on the ops that win early (parameter-free ones here).
	Dirichlet   bool    `yaml:"dirichlet"`
	DirichletKL float64 `yaml:"dirichlet_kl"` // (1e-3, DrNAS' own)
}

// DefaultDarts are the defaults. The alpha rate is ten times DARTS' 3e-4, which was
// set for 50 epochs on CIFAR-10; searches here run about ten.
var DefaultDarts = DartsOptions{Dataset: "mnist", Train: 5000, Val: 5000, Epochs: 10, Batch: 64, LR: 0.025, Momentum: 0.9,
	WeightDecay: 3e-4, AlphaLR: 3e-3, AlphaDecay: 1e-3, Order: 1, Channels: 8, Candidates: 1, DirichletKL: 1e-3}

// Darts is differentiable architecture search (Liu et al. 2019): a supernet mixes
// every op on every edge by the softmax of an alpha per edge and op; training
// alternates an architecture step on the alphas (validation batches) and a weight step
// (training batches). Once trained it asks the derived arch (the top op per edge; for
// the cell space the top two inputs per node) and, with candidates > 1, the next most
// likely archs one step from it, for the experiment's evaluator. Results teach it
// nothing more.
type Darts struct {
	space      spaces.Space
	oneshot    spaces.OneShot
	opt        DartsOptions
	rand       seeded
	net        *nn.Supernet
	train, val *datasets.Dataset
	alpha      [][]float64
	adamM      [][]float64
	adamV      [][]float64
	adamT      int
	epoch      int
	asked      int
	reports    []learning.Report
	skip       int // the skip_connect op's index with AuxSkip, else -1
}

func init() {
	Register("darts", "DARTS: a supernet's mixing weights learned by gradient, then its derived cells evaluated", DefaultDarts, Factory{
		New: func(c spaces.Component, space spaces.Space, seed uint64) (Strategy, error) {
			opt := DefaultDarts
			opt.Depth = spaces.SearchDepthOf(space) // the space's own default
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			return NewDarts(space, seed, opt)
		}})
}

// NewDarts checks the options, taken as they are (a caller wanting the defaults
// starts from DefaultDarts, as the config does), loads the dataset and builds the
// supernet.
func NewDarts(space spaces.Space, seed uint64, opt DartsOptions) (*Darts, error) {
	data, err := datasets.Load(opt.Dataset, opt.Path)
	if err != nil {
		return nil, fmt.Errorf("darts: %w", err)
	}
	train, val, err := data.Split(opt.Val, opt.Train)
	if err != nil {
		return nil, fmt.Errorf("darts: %s: %w", opt.Dataset, err)
	}
	return newDarts(space, seed, opt, train, val)
}

func (o DartsOptions) check() error {
	switch {
	case o.Order != 1 && o.Order != 2:
		return fmt.Errorf("order %d must be 1 (first-order) or 2 (second-order)", o.Order)
	case o.Epochs < 1 || o.Epochs > 10000:
		return fmt.Errorf("epochs %d must be from 1 to 10000", o.Epochs)
	case o.Batch < 1 || o.Batch > 4096:
		return fmt.Errorf("batch %d must be from 1 to 4096", o.Batch)
	case o.Candidates < 1 || o.Candidates > 1000:
		return fmt.Errorf("candidates %d must be from 1 to 1000", o.Candidates)
	case o.Channels < 1 || o.Depth < 1:
		return fmt.Errorf("channels %d and depth %d must be at least 1", o.Channels, o.Depth)
	case o.LR < 0 || o.AlphaLR < 0 || o.Momentum < 0 || o.WeightDecay < 0 || o.AlphaDecay < 0 || o.DirichletKL < 0:
		return fmt.Errorf("lr, alpha_lr, momentum, weight_decay, alpha_decay and dirichlet_kl must not be negative")
	}
	return nil
}

// newDarts builds DARTS on given data (tests give their own).
func newDarts(space spaces.Space, seed uint64, opt DartsOptions, train, val *datasets.Dataset) (*Darts, error) {
	oneshot, ok := spaces.Base(space).(spaces.OneShot)
	if !ok {
		return nil, fmt.Errorf("darts: space %s has no supernet (nb201 and cell do)", space.Name())
	}
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("darts: %w", err)
	}
	if train.N < opt.Batch || val.N < opt.Batch {
		return nil, fmt.Errorf("darts: %d training and %d validation examples make no batch of %d", train.N, val.N, opt.Batch)
	}
	spec, err := oneshot.Supernet(spaces.SupernetOptions{Input: train.Shape(), Classes: train.Classes, Channels: opt.Channels, Depth: opt.Depth})
	if err != nil {
		return nil, fmt.Errorf("darts: %w", err)
	}
	net, err := nn.NewSupernet(spec, opt.Batch, seed)
	if err != nil {
		return nil, fmt.Errorf("darts: %w", err)
	}
	s := &Darts{space: space, oneshot: oneshot, opt: opt, rand: newSeeded(seed), net: net, train: train, val: val, skip: -1}
	if opt.AuxSkip {
		if s.skip = slices.Index(spec.Ops, "skip_connect"); s.skip < 0 {
			return nil, fmt.Errorf("darts: aux_skip: space %s has no skip_connect op", space.Name())
		}
	}
	s.alpha, s.adamM, s.adamV = zeros(spec), zeros(spec), zeros(spec)
	// DARTS starts the alphas at 1e-3 times a standard normal.
	for _, row := range s.alpha {
		for j := range row {
			row[j] = 1e-3 * s.rand.rng.NormFloat64()
		}
	}
	return s, nil
}

func zeros(spec *spaces.Supernet) [][]float64 {
	out := make([][]float64, len(spec.Edges))
	for i := range out {
		out[i] = make([]float64, len(spec.Ops))
	}
	return out
}

func (s *Darts) Name() string { return "darts" }

func (s *Darts) Learning() bool { return s.epoch < s.opt.Epochs }

// Weights are each edge's distribution over ops: the softmax of the alphas, or with
// Dirichlet the Dirichlet's mean (its concentrations normalised).
func (s *Darts) Weights() [][]float64 {
	if !s.opt.Dirichlet {
		return softmax(s.alpha)
	}
	out := s.concentrations()
	for _, row := range out {
		var sum float64
		for _, v := range row {
			sum += v
		}
		for j := range row {
			row[j] /= sum
		}
	}
	return out
}

// concentrations are DrNAS' Dirichlet concentrations, ELU(alpha)+1: positive, and 1
// (the uniform Dirichlet) at alpha 0.
func (s *Darts) concentrations() [][]float64 {
	out := make([][]float64, len(s.alpha))
	for e, row := range s.alpha {
		out[e] = make([]float64, len(row))
		for j, a := range row {
			if a > 0 {
				out[e][j] = a + 1
			} else {
				out[e][j] = math.Exp(a)
			}
		}
	}
	return out
}

// sample draws each edge's mixing weights from its Dirichlet, from the search's
// random stream (so a seed gives the same search, and a resumed one goes on alike).
func (s *Darts) sample() []dirichlet.Sample {
	out := make([]dirichlet.Sample, len(s.alpha))
	for e, beta := range s.concentrations() {
		u := make([]float64, len(beta))
		for j := range u {
			u[j] = s.rand.rng.Float64()
		}
		out[e] = dirichlet.Draw(beta, u)
	}
	return out
}

func thetas(ss []dirichlet.Sample) [][]float64 {
	out := make([][]float64, len(ss))
	for e, smp := range ss {
		out[e] = smp.Theta
	}
	return out
}

// stepWeights are a step's mixing weights before the auxiliary skip: the softmax of
// the alphas, or with Dirichlet a fresh sample (returned too, for its gradient).
func (s *Darts) stepWeights() ([][]float64, []dirichlet.Sample) {
	if !s.opt.Dirichlet {
		return s.Weights(), nil
	}
	ss := s.sample()
	return thetas(ss), ss
}

// mixing are the supernet's mixing weights for a step: the softmax of the alphas,
// plus beta on every edge's skip connection with AuxSkip.
func (s *Darts) mixing(sm [][]float64, beta float64) [][]float32 {
	p := float32s(sm)
	if s.skip >= 0 {
		for _, row := range p {
			row[s.skip] += float32(beta)
		}
	}
	return p
}

// beta is the auxiliary skip's weight at a step of the search: 1 at the start, 0 at
// the end.
func (s *Darts) beta(step, steps int) float64 {
	return 1 - float64(s.epoch*steps+step)/float64(s.opt.Epochs*steps)
}

func float32s(w [][]float64) [][]float32 {
	out := make([][]float32, len(w))
	for i, row := range w {
		out[i] = make([]float32, len(row))
		for j, v := range row {
			out[i][j] = float32(v)
		}
	}
	return out
}

// Learn runs one epoch of alternating architecture and weight steps.
func (s *Darts) Learn(ctx context.Context) error {
	before, err := s.state(true)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if rerr := s.Restore(before); rerr != nil {
			return fmt.Errorf("darts: %w; and restoring the state before the epoch: %v", err, rerr)
		}
		return err
	}
	b := s.opt.Batch
	steps := s.train.N / b
	valSteps := s.val.N / b
	perm, vperm := s.rand.rng.Perm(s.train.N), s.rand.rng.Perm(s.val.N)
	total := float64(s.opt.Epochs * steps)
	var trainLoss, valLoss float64
	for step := 0; step < steps; step++ {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		tidx := perm[step*b : (step+1)*b]
		vidx := vperm[(step%valSteps)*b : (step%valSteps+1)*b]
		lr := s.opt.LR * 0.5 * (1 + math.Cos(math.Pi*float64(s.epoch*steps+step)/total))
		beta := s.beta(step, steps)
		lv, err := s.archStep(tidx, vidx, lr, beta)
		if err != nil {
			return fail(fmt.Errorf("darts: epoch %d step %d, architecture step: %w", s.epoch+1, step+1, err))
		}
		w, _ := s.stepWeights() // DrNAS draws the weight step's mix apart from the architecture step's
		lt, err := s.net.TrainStep(s.train, tidx, s.mixing(w, beta), float32(lr), float32(s.opt.Momentum), float32(s.opt.WeightDecay))
		if err != nil {
			return fail(fmt.Errorf("darts: epoch %d step %d, weight step: %w", s.epoch+1, step+1, err))
		}
		trainLoss += lt
		valLoss += lv
	}
	s.epoch++
	s.reports = learning.AppendReport(s.reports, learning.Report{Source: "darts", Step: s.epoch, Of: s.opt.Epochs,
		Values: map[string]float64{"train_loss": trainLoss / float64(steps), "val_loss": valLoss / float64(steps)},
		Alphas: &learning.Alphas{Edges: s.net.Spec.Edges, Ops: s.net.Spec.Ops, Weights: s.Weights()}})
	return nil
}

// archStep updates the alphas by Adam on the gradient of the validation loss, and
// returns that loss.
func (s *Darts) archStep(tidx, vidx []int, lr, beta float64) (float64, error) {
	sm, draws := s.stepWeights()
	p := s.mixing(sm, beta) // the auxiliary skip is outside the softmax (or sample): the chain below is unchanged
	var loss float64
	var gw [][]float64 // the gradient with respect to the mixing weights p
	var err error
	if s.opt.Order == 1 {
		loss, gw, err = s.net.MixGrad(s.val, vidx, p)
	} else {
		loss, gw, err = s.unrolled(tidx, vidx, p, lr)
	}
	if err != nil {
		return loss, err
	}
	grad := s.alphaGrad(sm, draws, gw)
	s.adamT++
	const b1, b2, eps = 0.5, 0.999, 1e-8 // DARTS' betas
	c1, c2 := 1-math.Pow(b1, float64(s.adamT)), 1-math.Pow(b2, float64(s.adamT))
	for e, row := range s.alpha {
		for j := range row {
			g := grad[e][j] + s.opt.AlphaDecay*row[j]
			s.adamM[e][j] = b1*s.adamM[e][j] + (1-b1)*g
			s.adamV[e][j] = b2*s.adamV[e][j] + (1-b2)*g*g
			row[j] -= s.opt.AlphaLR * (s.adamM[e][j] / c1) / (math.Sqrt(s.adamV[e][j]/c2) + eps)
		}
	}
	return loss, nil
}

// alphaGrad takes the validation loss's gradient with respect to the mixing weights
// back to the alphas: through the softmax, d/dalpha_j = p_j * (g_j - sum_k p_k g_k); or
// with Dirichlet through the sample to the concentrations, plus the KL term, and
// through ELU+1.
func (s *Darts) alphaGrad(sm [][]float64, draws []dirichlet.Sample, gw [][]float64) [][]float64 {
	out := make([][]float64, len(s.alpha))
	if draws == nil {
		for e, p := range sm {
			var dot float64
			for k := range p {
				dot += p[k] * gw[e][k]
			}
			out[e] = make([]float64, len(p))
			for j := range p {
				out[e][j] = p[j] * (gw[e][j] - dot)
			}
		}
		return out
	}
	for e, conc := range s.concentrations() {
		out[e] = draws[e].Chain(gw[e])
		_, kl := dirichlet.KLUniform(conc)
		for j, a := range s.alpha[e] {
			out[e][j] += s.opt.DirichletKL * kl[j]
			if a <= 0 {
				out[e][j] *= conc[j] // d(exp a)/da; above 0 ELU+1 has slope 1
			}
		}
	}
	return out
}

// unrolled is DARTS' second-order gradient of the validation loss after one virtual
// weight step w' = w - lr*(grad + decay*w) (without momentum), with respect to the
// mixing weights: the direct term minus lr times the mixed second derivative, taken as
// a central difference of training gradients at w +- r*dw' (r = 0.01/|dw'|).
func (s *Darts) unrolled(tidx, vidx []int, p [][]float32, lr float64) (float64, [][]float64, error) {
	w0 := s.net.Weights()
	defer s.net.SetWeights(w0)
	_, gTrain, _, err := s.net.Grads(s.train, tidx, p)
	if err != nil {
		return 0, nil, err
	}
	wd := float32(s.opt.WeightDecay)
	virt := make([][]float32, len(w0))
	for i := range w0 {
		virt[i] = make([]float32, len(w0[i]))
		for j, v := range w0[i] {
			virt[i][j] = v - float32(lr)*(gTrain[i][j]+wd*v)
		}
	}
	s.net.SetWeights(virt)
	loss, dw, gMix, err := s.net.Grads(s.val, vidx, p)
	if err != nil {
		return loss, nil, err
	}
	var norm float64
	for _, g := range dw {
		for _, v := range g {
			norm += float64(v) * float64(v)
		}
	}
	if norm == 0 {
		return loss, gMix, nil
	}
	r := 0.01 / math.Sqrt(norm)
	shifted := func(sign float64) ([][]float64, error) {
		w := make([][]float32, len(w0))
		for i := range w0 {
			w[i] = make([]float32, len(w0[i]))
			for j, v := range w0[i] {
				w[i][j] = v + float32(sign*r)*dw[i][j]
			}
		}
		s.net.SetWeights(w)
		_, g, err := s.net.MixGrad(s.train, tidx, p)
		return g, err
	}
	plus, err := shifted(1)
	if err != nil {
		return loss, nil, err
	}
	minus, err := shifted(-1)
	if err != nil {
		return loss, nil, err
	}
	for e := range gMix {
		for j := range gMix[e] {
			gMix[e][j] -= lr * (plus[e][j] - minus[e][j]) / (2 * r)
		}
	}
	return loss, gMix, nil
}

// Derived is the discrete arch the alphas favour.
func (s *Darts) Derived() (spaces.Arch, error) { return s.oneshot.Derive(s.Weights()) }

// candidates are the derived arch and then its neighbours by likelihood under the
// alphas (the sum over edges of the log-weight of the ops they use).
func (s *Darts) candidates() ([]spaces.Arch, error) {
	best, err := s.Derived()
	if err != nil {
		return nil, err
	}
	out := []spaces.Arch{best}
	if s.opt.Candidates == 1 {
		return out, nil
	}
	w := s.Weights()
	score := func(a spaces.Arch) float64 {
		var sum float64
		for e, row := range s.oneshot.PathWeights(a) {
			for j, v := range row {
				sum += float64(v) * math.Log(w[e][j]+1e-12)
			}
		}
		return sum
	}
	ns := s.space.Neighbours(best)
	scores := make([]float64, len(ns))
	for i, a := range ns {
		scores[i] = score(a)
	}
	idx := make([]int, len(ns))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	seen := map[string]bool{best.String(): true}
	for _, i := range idx {
		if len(out) == s.opt.Candidates {
			break
		}
		if !seen[ns[i].String()] {
			seen[ns[i].String()] = true
			out = append(out, ns[i])
		}
	}
	return out, nil
}

func (s *Darts) Ask(n int) []Candidate {
	if s.Learning() || s.asked >= s.opt.Candidates {
		return nil
	}
	cs, err := s.candidates()
	if err != nil {
		return nil // cannot happen: the alphas have the supernet's shape
	}
	var out []Candidate
	for ; s.asked < len(cs) && len(out) < n; s.asked++ {
		out = append(out, Candidate{Arch: cs[s.asked]})
	}
	if len(out) < n {
		s.asked = s.opt.Candidates // fewer neighbours than candidates: nothing more to ask
	}
	return out
}

func (s *Darts) Tell([]Result) {}

func (s *Darts) Reports() []learning.Report { return s.reports }

// dartsState is the checkpointed state. The supernet's weights go apart (LargeState),
// except in the snapshot an epoch rolls back to, and in files written before they
// did, which Restore still reads.
type dartsState struct {
	RNG      []byte            `json:"rng"`
	Supernet []byte            `json:"supernet,omitempty"`
	Alpha    [][]float64       `json:"alpha"`
	AdamM    [][]float64       `json:"adam_m"`
	AdamV    [][]float64       `json:"adam_v"`
	AdamT    int               `json:"adam_t"`
	Epoch    int               `json:"epoch"`
	Asked    int               `json:"asked"`
	Reports  []learning.Report `json:"reports"`
}

func (s *Darts) State() ([]byte, error) { return s.state(false) }

// state is the state, with the supernet's weights when withNet is set.
func (s *Darts) state(withNet bool) ([]byte, error) {
	st := dartsState{RNG: s.rand.marshal(), Alpha: s.alpha, AdamM: s.adamM, AdamV: s.adamV,
		AdamT: s.adamT, Epoch: s.epoch, Asked: s.asked, Reports: s.reports}
	if withNet {
		var err error
		if st.Supernet, err = s.net.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	return json.Marshal(st)
}

// LargeState is the supernet's weights, versioned by the epochs trained: they change
// only when DARTS learns (see engine.LargeStateful).
func (s *Darts) LargeState() (int, []byte, error) {
	b, err := s.net.MarshalBinary()
	return s.epoch, b, err
}

func (s *Darts) RestoreLargeState(b []byte) error {
	if err := s.net.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("darts weights: %w", err)
	}
	return nil
}

func (s *Darts) Restore(state []byte) error {
	var st dartsState
	if err := restoreJSON("darts", state, &st); err != nil {
		return err
	}
	shape := func(name string, m [][]float64) error {
		if len(m) != len(s.alpha) {
			return fmt.Errorf("darts snapshot: %s has %d edges, the supernet %d", name, len(m), len(s.alpha))
		}
		for i, row := range m {
			if len(row) != len(s.alpha[i]) {
				return fmt.Errorf("darts snapshot: %s edge %d has %d ops, the supernet %d", name, i, len(row), len(s.alpha[i]))
			}
		}
		return nil
	}
	for _, m := range []struct {
		name string
		v    [][]float64
	}{{"alpha", st.Alpha}, {"adam_m", st.AdamM}, {"adam_v", st.AdamV}} {
		if err := shape(m.name, m.v); err != nil {
			return err
		}
	}
	if st.Supernet != nil { // a rollback's snapshot, or a file from before LargeState
		if err := s.net.UnmarshalBinary(st.Supernet); err != nil {
			return fmt.Errorf("darts snapshot: %w", err)
		}
	}
	if err := s.rand.unmarshal(st.RNG); err != nil {
		return fmt.Errorf("darts snapshot: %w", err)
	}
	s.alpha, s.adamM, s.adamV, s.adamT = st.Alpha, st.AdamM, st.AdamV, st.AdamT
	s.epoch, s.asked, s.reports = st.Epoch, st.Asked, st.Reports
	return nil
}
