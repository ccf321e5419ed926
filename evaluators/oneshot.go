package evaluators

import (
	"bytes"
	"cellar/learning"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"cellar/datasets"
	"cellar/engine"
	"cellar/nn"
	"cellar/spaces"
)

// OneShotOptions configure the one-shot evaluator. Its supernet is sized apart from
// the space's skeleton and takes its input shape from the dataset.
type OneShotOptions struct {
	Dataset     string `yaml:"dataset"`     // mnist (built in), fashion-mnist or cifar10
	Path        string `yaml:"path"`        // the dataset's folder, where it is not built in
	Train       int    `yaml:"train"`       // training examples the supernet learns from (10000)
	Val         int    `yaml:"val"`         // held-out training examples (5000)
	ScoreSize   int    `yaml:"score_size"`  // of them, the ones each arch is scored on (500)
	Recalibrate int    `yaml:"recalibrate"` // training batches that re-estimate batch norm per arch (4)
	// Finetune trains an arch's path alone for this many steps (fixed batches, the same
	// for every arch; SGD from FinetuneLR, cosine to 0, momentum afresh) before it is
	// scored, and then puts the supernet back as it was: the inherited weights were
	// shared with every other path, and a few steps of their own undo some of what
	// that sharing cost them. 0 (the default) scores the inherited weights as they are.
	Finetune    int     `yaml:"finetune"`
	FinetuneLR  float64 `yaml:"finetune_lr"`  // (0.01)
	Epochs      int     `yaml:"epochs"`       // of supernet training (5)
	Batch       int     `yaml:"batch"`        // (64)
	LR          float64 `yaml:"lr"`           // SGD, cosine-annealed (0.05)
	Momentum    float64 `yaml:"momentum"`     // (0.9)
	WeightDecay float64 `yaml:"weight_decay"` // (4e-5, SPOS')
	Channels    int     `yaml:"channels"`     // of the supernet (8)
	Depth       int     `yaml:"depth"`        // supernet cells: per stage for nb201 (1), in all for cell (5)
	// Sampling is how a step picks what to train: uniform (one path drawn uniformly,
	// single-path one-shot) or fair (FairNAS, Chu et al. 2021: as many paths as an
	// edge has ops, each op of each edge on exactly one, their gradients summed into
	// one step, so every op is trained equally often; a step costs that many).
	Sampling string `yaml:"sampling"`
	// FewShot splits the supernet (Zhao et al. 2021) after SplitAt of its epochs: one
	// copy per op of the first edge, each then trained only on the paths that put its
	// op there, and each arch scored by the copy of its first edge's op. The steps are
	// the same as without: each goes to the copy its path belongs to.
	FewShot bool    `yaml:"few_shot"`
	SplitAt float64 `yaml:"split_at"` // the fraction of the epochs before FewShot's split (0.5)
	Seed    uint64  `yaml:"seed"`
}

// DefaultOneShot are the defaults.
var DefaultOneShot = OneShotOptions{Dataset: "mnist", Train: 10000, Val: 5000, ScoreSize: 500, Recalibrate: 4, Epochs: 5,
	Batch: 64, LR: 0.05, Momentum: 0.9, WeightDecay: 4e-5, Channels: 8, Sampling: "uniform", SplitAt: 0.5, FinetuneLR: 0.01}

// OneShot scores archs with weights inherited from a supernet trained by single-path
// one-shot (Guo et al. 2020): each step trains one uniformly sampled path. An arch's
// score, oneshot_accuracy, is its path's accuracy on held-out examples after its
// batch norms are re-estimated on a few training batches; oneshot_loss is its
// cross-entropy there (a cascade rung can rank by it: `rank: [oneshot_loss:min]`);
// oneshot_angle is how far supernet training turned the path's weights from their
// initial values (nn.Supernet.Angle; ABS's angle, larger is better), which needs no
// data.
// The supernet trains as a learner (see the engine) before the first trial, and its
// state goes into checkpoints, so a restarted search does not train it again.
type OneShot struct {
	space   spaces.Space
	oneshot spaces.OneShot
	opt     OneShotOptions
	train   *datasets.Dataset
	score   *datasets.Dataset
	recal   [][]int // the recalibration batches, the same for every arch
	tune    [][]int // the fine-tuning batches (Finetune), the same for every arch

	mu      sync.Mutex // the supernet runs one arch at a time
	net     *nn.Supernet
	subs    []*nn.Supernet // with FewShot, once split: a copy per op of the first edge
	pcg     *rand.PCG      // the sampled paths and batches
	rng     *rand.Rand
	epoch   int
	reports []learning.Report
}

// NewOneShot checks the options, taken as they are (a caller wanting the defaults
// starts from DefaultOneShot, with the space's SearchDepth), loads the data
// and builds the (untrained) supernet.
func NewOneShot(space spaces.Space, opt OneShotOptions) (*OneShot, error) {
	shot, ok := spaces.Base(space).(spaces.OneShot)
	if !ok {
		return nil, fmt.Errorf("oneshot: space %s has no supernet (nb201 and cell do)", space.Name())
	}
	if opt.Sampling == "" {
		opt.Sampling = "uniform"
	}
	if err := opt.check(space); err != nil {
		return nil, err
	}
	data, err := datasets.Load(opt.Dataset, opt.Path)
	if err != nil {
		return nil, fmt.Errorf("oneshot: %w", err)
	}
	train, val, err := data.Split(opt.Val, opt.Train)
	if err != nil {
		return nil, fmt.Errorf("oneshot: %s: %w", opt.Dataset, err)
	}
	if opt.ScoreSize > val.N {
		return nil, fmt.Errorf("oneshot: score_size %d is more than the %d held-out examples (val)", opt.ScoreSize, val.N)
	}
	if train.N < opt.Batch*max(opt.Recalibrate, opt.Finetune, 1) {
		return nil, fmt.Errorf("oneshot: %d training examples make too few batches of %d", train.N, opt.Batch)
	}
	spec, err := shot.Supernet(spaces.SupernetOptions{Input: train.Shape(), Classes: train.Classes, Channels: opt.Channels, Depth: opt.Depth})
	if err != nil {
		return nil, fmt.Errorf("oneshot: %w", err)
	}
	net, err := nn.NewSupernet(spec, opt.Batch, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("oneshot: %w", err)
	}
	pcg := rand.NewPCG(opt.Seed, 0x0ce5)
	s := &OneShot{space: space, oneshot: shot, opt: opt, train: train, score: val.Slice(0, opt.ScoreSize), net: net, pcg: pcg, rng: rand.New(pcg)}
	s.recal = batches(opt.Seed, 0x7eca1, train.N, opt.Batch, opt.Recalibrate)
	s.tune = batches(opt.Seed, 0xf1e7, train.N, opt.Batch, opt.Finetune)
	return s, nil
}

// batches are count batches of size examples of n, fixed by the seed and stream.
func batches(seed, stream uint64, n, size, count int) [][]int {
	perm := rand.New(rand.NewPCG(seed, stream)).Perm(n)
	var out [][]int
	for i := 0; i < count; i++ {
		out = append(out, perm[i*size:(i+1)*size])
	}
	return out
}

// check refuses options no supernet can be trained with, naming the option.
func (opt OneShotOptions) check(space spaces.Space) error {
	switch {
	case opt.Epochs < 1 || opt.Batch < 1 || opt.Recalibrate < 0 || opt.ScoreSize < 1:
		return fmt.Errorf("oneshot: epochs %d, batch %d and score_size %d must be positive, recalibrate %d not negative", opt.Epochs, opt.Batch, opt.ScoreSize, opt.Recalibrate)
	case opt.Finetune < 0 || opt.Finetune > 0 && opt.FinetuneLR <= 0:
		return fmt.Errorf("oneshot: finetune %d must not be negative, and finetune_lr %g must be positive with it", opt.Finetune, opt.FinetuneLR)
	case opt.Channels < 1 || opt.Depth < 1:
		return fmt.Errorf("oneshot: channels %d and depth %d must be at least 1", opt.Channels, opt.Depth)
	case opt.LR < 0 || opt.Momentum < 0 || opt.WeightDecay < 0:
		return fmt.Errorf("oneshot: lr, momentum and weight_decay must not be negative")
	case opt.Sampling != "uniform" && opt.Sampling != "fair":
		return fmt.Errorf("oneshot: sampling %q: uniform or fair", opt.Sampling)
	case opt.FewShot && !(opt.SplitAt > 0 && opt.SplitAt < 1):
		return fmt.Errorf("oneshot: split_at %g: the fraction of the epochs before the few-shot split, between 0 and 1", opt.SplitAt)
	}
	if _, onePerEdge := spaces.Base(space).(spaces.OnePerEdge); (opt.Sampling == "fair" || opt.FewShot) && !onePerEdge {
		// A fair set of paths, and a split on the first edge's op, need every arch to
		// put one op on every edge, which only NB201's cells do.
		return fmt.Errorf("oneshot: sampling fair and few_shot need a space whose archs put one op on every edge (nb201), not %s", space.Name())
	}
	return nil
}

// Describe says how the supernet is built and trained.
func (s *OneShot) Describe() string {
	o := s.opt
	split := ""
	if o.FewShot {
		split = fmt.Sprintf(", split on the first edge after epoch %d", s.splitAt())
	}
	tune := ""
	if o.Finetune > 0 {
		tune = fmt.Sprintf("%d fine-tuning steps (lr %g) and ", o.Finetune, o.FinetuneLR)
	}
	return fmt.Sprintf("%d params (%d channels, depth %d) on %d %s examples, %d epochs of batch %d, lr %g, %s sampling%s; scored on %d held-out examples after %s%d recalibration batches",
		s.net.Params(), o.Channels, o.Depth, s.train.N, o.Dataset, o.Epochs, o.Batch, o.LR, o.Sampling, split, s.score.N, tune, o.Recalibrate)
}

// DefaultRank ranks a cascade rung of the one-shot evaluator by the mean of three
// ranks: its loss (lower is better), its angle and live params. Against NB201's
// 4-seed ground truth that ranks at Kendall 0.68-0.71, where the supernet's loss
// alone ranks at 0.60, live params alone at 0.60 and params at 0.54
// (docs/benchmarks.md).
func (s *OneShot) DefaultRank() ([]engine.Objective, string) {
	return []engine.Objective{{Name: "oneshot_loss", Direction: "min"}, {Name: "oneshot_angle", Direction: "max"}, {Name: "live_params", Direction: "max"}}, "mean_rank"
}

func (s *OneShot) Metrics() []string {
	return []string{"oneshot_accuracy", "oneshot_loss", "oneshot_angle", "params", "live_params", "flops", "eval_seconds"}
}

func (s *OneShot) Learning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch < s.opt.Epochs
}

// Learn trains the supernet one epoch, the paths of a step as Sampling says.
func (s *OneShot) Learn(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, err := s.state(true)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		if rerr := s.restore(before); rerr != nil {
			return fmt.Errorf("%w; and restoring the state before the epoch: %v", err, rerr)
		}
		return err
	}
	if s.opt.FewShot && s.subs == nil && s.epoch >= s.splitAt() {
		if err := s.split(); err != nil {
			return fail(err)
		}
	}
	start := time.Now()
	b := s.opt.Batch
	steps := s.train.N / b
	total := float64(s.opt.Epochs * steps)
	perm := s.rng.Perm(s.train.N)
	var loss float64
	for step := 0; step < steps; step++ {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		lr := s.opt.LR * 0.5 * (1 + math.Cos(math.Pi*float64(s.epoch*steps+step)/total))
		l, err := s.trainStep(perm[step*b:(step+1)*b], lr)
		if err != nil {
			return fail(fmt.Errorf("epoch %d step %d: %w", s.epoch+1, step+1, err))
		}
		loss += l
	}
	s.epoch++
	s.reports = learning.AppendReport(s.reports, learning.Report{Source: "oneshot", Step: s.epoch, Of: s.opt.Epochs,
		Values: map[string]float64{"train_loss": loss / float64(steps), "seconds": time.Since(start).Seconds()}})
	return nil
}

// splitAt is the epoch after which FewShot splits the supernet: SplitAt of them,
// at least one before and, where there are two, one after.
func (s *OneShot) splitAt() int {
	return max(1, min(int(math.Round(float64(s.opt.Epochs)*s.opt.SplitAt)), s.opt.Epochs-1))
}

// split makes the copies of FewShot, one per op of the first edge, from the supernet.
func (s *OneShot) split() error {
	b, err := s.net.MarshalBinary()
	if err != nil {
		return err
	}
	subs := make([]*nn.Supernet, len(s.net.Spec.Ops))
	for i := range subs {
		if subs[i], err = nn.NewSupernet(s.net.Spec, s.opt.Batch, s.opt.Seed); err == nil {
			err = subs[i].UnmarshalBinary(b)
		}
		if err != nil {
			return fmt.Errorf("oneshot: few-shot split: %w", err)
		}
	}
	s.subs = subs
	return nil
}

// firstOp is the op a path's mixing weights put on the first edge.
func firstOp(w [][]float32) int {
	for op, v := range w[0] {
		if v != 0 {
			return op
		}
	}
	return 0
}

// netFor is the supernet that trains and scores paths putting op on the first edge.
func (s *OneShot) netFor(op int) *nn.Supernet {
	if s.subs != nil {
		return s.subs[op]
	}
	return s.net
}

// trainStep trains a step's paths on examples idx: all in the supernet, or, once
// split, each in the copy of its first edge's op.
func (s *OneShot) trainStep(idx []int, lr float64) (float64, error) {
	ws := s.paths()
	if s.subs == nil {
		return s.net.TrainPaths(s.train, idx, ws, float32(lr), float32(s.opt.Momentum), float32(s.opt.WeightDecay))
	}
	groups := make([][][][]float32, len(s.subs))
	for _, w := range ws {
		op := firstOp(w)
		groups[op] = append(groups[op], w)
	}
	var loss float64
	for op, g := range groups {
		if len(g) == 0 {
			continue
		}
		l, err := s.subs[op].TrainPaths(s.train, idx, g, float32(lr), float32(s.opt.Momentum), float32(s.opt.WeightDecay))
		if err != nil {
			return l, err
		}
		loss += l * float64(len(g)) / float64(len(ws))
	}
	return loss, nil
}

// paths are the mixing weights of the paths one step trains (see Sampling).
func (s *OneShot) paths() [][][]float32 {
	if s.opt.Sampling != "fair" {
		return [][][]float32{s.oneshot.PathWeights(s.space.Sample(s.rng))}
	}
	edges, ops := len(s.net.Spec.Edges), len(s.net.Spec.Ops)
	ws := make([][][]float32, ops)
	for i := range ws {
		ws[i] = make([][]float32, edges)
		for e := range ws[i] {
			ws[i][e] = make([]float32, ops)
		}
	}
	for e := range edges {
		for i, op := range s.rng.Perm(ops) {
			ws[i][e][op] = 1
		}
	}
	return ws
}

func (s *OneShot) Evaluate(ctx context.Context, job engine.Job, _ func(engine.Progress)) (engine.Outcome, error) {
	arch := job.Arch
	net, err := s.space.Network(arch)
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("build network: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.epoch < s.opt.Epochs {
		return engine.Outcome{}, fmt.Errorf("oneshot: the supernet has trained %d of %d epochs", s.epoch, s.opt.Epochs)
	}
	start := time.Now()
	w := s.oneshot.PathWeights(arch)
	sn := s.netFor(firstOp(w))
	angle, err := sn.Angle(w) // of the inherited weights, before any fine-tuning
	if err != nil {
		return engine.Outcome{}, err
	}
	if len(s.tune) > 0 {
		restore, err := s.finetune(ctx, sn, w)
		if err != nil {
			return engine.Outcome{}, err
		}
		defer restore()
	}
	if err := sn.Recalibrate(ctx, s.train, s.recal, w); err != nil {
		return engine.Outcome{}, err
	}
	sc, err := sn.Score(ctx, s.score, w)
	if err != nil {
		return engine.Outcome{}, err
	}
	return engine.Outcome{Metrics: map[string]float64{"oneshot_accuracy": sc.Accuracy, "oneshot_loss": sc.Loss, "oneshot_angle": angle,
		"params": float64(net.Params()), "live_params": float64(net.LiveParams()), "flops": float64(net.FLOPs()),
		"eval_seconds": time.Since(start).Seconds()}}, nil
}

// finetune trains path w of sn alone on the fine-tuning batches; restore puts sn
// back as it was (weights, velocities and batch norm statistics), so that no arch's
// score depends on which were scored before it.
func (s *OneShot) finetune(ctx context.Context, sn *nn.Supernet, w [][]float32) (restore func(), err error) {
	restore = sn.Snapshot()
	sn.ClearMomentum()
	for i, idx := range s.tune {
		if err := ctx.Err(); err != nil {
			restore()
			return nil, err
		}
		lr := s.opt.FinetuneLR * 0.5 * (1 + math.Cos(math.Pi*float64(i)/float64(len(s.tune))))
		if _, err := sn.TrainStep(s.train, idx, w, float32(lr), float32(s.opt.Momentum), float32(s.opt.WeightDecay)); err != nil {
			restore()
			return nil, fmt.Errorf("oneshot: fine-tuning step %d: %w", i+1, err)
		}
	}
	return restore, nil
}

func (s *OneShot) Reports() []learning.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reports
}

// oneShotState is the checkpointed state. The supernet's weights go apart
// (LargeState), except in the snapshot an epoch rolls back to, and in files written
// before they did, which Restore still reads.
type oneShotState struct {
	Supernet []byte            `json:"supernet,omitempty"`
	RNG      []byte            `json:"rng"`
	Epoch    int               `json:"epoch"`
	Reports  []learning.Report `json:"reports"`
}

func (s *OneShot) State() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state(false)
}

// state is the state, with the supernet's weights when withNet is set.
func (s *OneShot) state(withNet bool) ([]byte, error) {
	st := oneShotState{Epoch: s.epoch, Reports: s.reports}
	var err error
	if withNet {
		if st.Supernet, err = s.weights(); err != nil {
			return nil, err
		}
	}
	if st.RNG, err = s.pcg.MarshalBinary(); err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

// LargeState is the supernet's weights, versioned by the epochs trained: they change
// only when the supernet learns (see engine.LargeStateful).
func (s *OneShot) LargeState() (int, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.weights()
	return s.epoch, b, err
}

func (s *OneShot) RestoreLargeState(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setWeights(b); err != nil {
		return fmt.Errorf("oneshot weights: %w", err)
	}
	return nil
}

func (s *OneShot) Restore(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restore(b)
}

func (s *OneShot) restore(b []byte) error {
	var st oneShotState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("oneshot state: %w", err)
	}
	if st.Supernet != nil { // a rollback's snapshot, or a file from before LargeState
		if err := s.setWeights(st.Supernet); err != nil {
			return fmt.Errorf("oneshot state: %w", err)
		}
	}
	if err := s.pcg.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("oneshot state: %w", err)
	}
	s.epoch, s.reports = st.Epoch, st.Reports
	return nil
}

// fewShotMagic starts the weights of a split supernet: the number of copies, then
// each copy's saved form (nn.Supernet.MarshalBinary) after its length, little-endian.
const fewShotMagic = "cellar-fewshot-1"

// weights are the supernet's saved form, or its copies' once split.
func (s *OneShot) weights() ([]byte, error) {
	if s.subs == nil {
		return s.net.MarshalBinary()
	}
	var buf bytes.Buffer
	buf.WriteString(fewShotMagic)
	binary.Write(&buf, binary.LittleEndian, uint32(len(s.subs)))
	for _, sub := range s.subs {
		b, err := sub.MarshalBinary()
		if err != nil {
			return nil, err
		}
		binary.Write(&buf, binary.LittleEndian, uint32(len(b)))
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// setWeights restores what weights saved: the supernet, or its copies (made anew).
func (s *OneShot) setWeights(b []byte) error {
	if !bytes.HasPrefix(b, []byte(fewShotMagic)) {
		if err := s.net.UnmarshalBinary(b); err != nil {
			return err
		}
		s.closeSubs()
		return nil
	}
	r := bytes.NewReader(b[len(fewShotMagic):])
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || int(n) != len(s.net.Spec.Ops) {
		return fmt.Errorf("saved few-shot supernet has %d copies, this one %d", n, len(s.net.Spec.Ops))
	}
	subs := make([]*nn.Supernet, n)
	for i := range subs {
		var l uint32
		if err := binary.Read(r, binary.LittleEndian, &l); err != nil || int(l) > r.Len() {
			for _, made := range subs[:i] {
				made.Close()
			}
			return fmt.Errorf("saved few-shot supernet: copy %d is cut short", i)
		}
		part := make([]byte, l)
		r.Read(part)
		sub, err := nn.NewSupernet(s.net.Spec, s.opt.Batch, s.opt.Seed)
		if err == nil {
			err = sub.UnmarshalBinary(part)
		}
		if err != nil {
			for _, made := range subs[:i] {
				made.Close()
			}
			return fmt.Errorf("saved few-shot supernet, copy %d: %w", i, err)
		}
		subs[i] = sub
	}
	if r.Len() != 0 {
		for _, sub := range subs {
			sub.Close()
		}
		return fmt.Errorf("saved few-shot supernet has %d bytes too many", r.Len())
	}
	s.closeSubs()
	s.subs = subs
	return nil
}

// closeSubs releases the copies' machines.
func (s *OneShot) closeSubs() {
	for _, sub := range s.subs {
		sub.Close()
	}
	s.subs = nil
}

// savedSupernet is a trained supernet on file: the options it was trained with (those
// that do not bear on training zeroed), its state and its weights.
type savedSupernet struct {
	Training OneShotOptions `json:"training"`
	State    []byte         `json:"state"`
	Weights  []byte         `json:"weights"`
}

// trainingOptions are the options that decide the trained weights: not how archs are
// scored (val, score_size, recalibrate, finetune: the held-out examples come from the
// end of the training set, the supernet's from its start, and fine-tuning puts the
// weights back), nor where the data lies.
func (o OneShotOptions) trainingOptions() OneShotOptions {
	o.Val, o.ScoreSize, o.Recalibrate, o.Finetune, o.FinetuneLR, o.Path = 0, 0, 0, 0, 0, ""
	if !o.FewShot {
		o.SplitAt = 0
	}
	return o
}

// Save writes the supernet, trained or part way, so that Load can take it up again
// instead of training it: to score archs in other ways (val, score_size,
// recalibrate, finetune) without training again, or to go on training it.
func (s *OneShot) Save(w io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(false)
	if err != nil {
		return err
	}
	weights, err := s.weights()
	if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(savedSupernet{Training: s.opt.trainingOptions(), State: st, Weights: weights})
}

// Load takes up a supernet Save wrote. It must have been trained with the same
// options, but for val, score_size, recalibrate and finetune; anything else is an error naming
// the difference, and nothing is changed then.
func (s *OneShot) Load(r io.Reader) error {
	var saved savedSupernet
	if err := json.NewDecoder(r).Decode(&saved); err != nil {
		return fmt.Errorf("oneshot: not a saved supernet: %w", err)
	}
	if saved.Training.FewShot && saved.Training.SplitAt == 0 {
		saved.Training.SplitAt = 0.5 // saved before split_at was an option: split halfway
	}
	if want := s.opt.trainingOptions(); saved.Training != want {
		return fmt.Errorf("oneshot: the saved supernet was trained with %+v, not %+v", saved.Training, want)
	}
	var st oneShotState // checked before anything changes
	if err := json.Unmarshal(saved.State, &st); err != nil || st.Supernet != nil || new(rand.PCG).UnmarshalBinary(st.RNG) != nil {
		return fmt.Errorf("oneshot: the saved supernet's state is damaged")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.setWeights(saved.Weights); err != nil {
		return fmt.Errorf("oneshot: saved supernet: %w", err)
	}
	return s.restore(saved.State)
}
