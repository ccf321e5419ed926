package evaluators

import (
	"cellar/learning"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"cellar/engine"
)

// CascadeOptions configure the cascade evaluator: a ladder of evaluators, cheapest
// first, that candidates climb by rank.
type CascadeOptions struct {
	Eta   float64    `yaml:"eta"` // 1/eta of each rung's results go on to the next (3)
	Rungs []RungSpec `yaml:"rungs"`
}

// RungSpec is one rung: an evaluator component, and optionally what ranks the
// rung's results (a `rank` key, e.g. `rank: [synflow]` or `rank: [val_accuracy,
// params:min]`). By default a rung ranks by the experiment's objectives it gives
// (the IR's params, flops and latency count as given); the first objective, when the
// rung does not give it, is replaced by the rung's first metric, maximised. Several
// rank metrics are taken as objectives (non-dominated sorting) unless `combine:
// mean_rank` asks for the mean of their ranks, one ordering from several predictors
// of the same thing (e.g. `rank: [oneshot_loss:min, params]`, which on
// Fashion-MNIST ranks better than either; see docs/benchmarks.md).
type RungSpec struct {
	engine.Component
	Rank    []engine.Objective
	Combine string // "pareto" (the default) or "mean_rank"
}

// knownCombine says whether s is a combine value (empty: the default).
func knownCombine(s string) bool { return s == "" || s == "pareto" || s == "mean_rank" }

// UnmarshalYAML takes the rank and combine keys out before the evaluator sees its
// options.
func (r *RungSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		rest := *n
		rest.Content = nil
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			if key.Value == "combine" {
				if val.Kind != yaml.ScalarNode || val.Value == "" || !knownCombine(val.Value) {
					return fmt.Errorf("line %d: combine: %q; give pareto or mean_rank", key.Line, val.Value)
				}
				r.Combine = val.Value
				continue
			}
			if key.Value != "rank" {
				rest.Content = append(rest.Content, key, val)
				continue
			}
			var names []string
			if err := n.Content[i+1].Decode(&names); err != nil {
				return fmt.Errorf("line %d: rank: a list of metrics, each name or name:min", n.Content[i].Line)
			}
			for _, s := range names {
				name, dir, _ := strings.Cut(s, ":")
				if dir == "" {
					dir = "max"
				}
				if name == "" || (dir != "max" && dir != "min") {
					return fmt.Errorf("line %d: rank: %q; give name, name:max or name:min", n.Content[i].Line, s)
				}
				r.Rank = append(r.Rank, engine.Objective{Name: name, Direction: dir})
			}
		}
		n = &rest
	}
	return r.Component.UnmarshalYAML(n)
}

// Cascade evaluates a candidate rung by rung. After each rung but the last, the
// candidate goes on only if it ranks among the best 1/eta of the results that rung has
// seen so far (asynchronous successive halving: no rung waits for others); otherwise
// it stops there, done but stopped, with every rung it reached stored with it. The
// last rung gives the experiment's objectives. A trial made by hand climbs every rung
// (its results still count in each rung's ranking): the user asked for it, and its
// full evaluation is an unselected check of how well the cheap rungs rank.
type Cascade struct {
	eta   float64
	rungs []Rung
	final engine.Objective // the experiment's first objective, which ranks the last rung

	mu     sync.Mutex
	ladder ladder

	anonymous atomic.Uint64 // ids for evaluations outside a search
}

// Rung is one rung of a cascade built in code: its evaluator, the name reports give
// it, what ranks its results (nil: as RungSpec's rank key left out) and how several
// rank metrics combine (as RungSpec's combine key).
type Rung struct {
	Name    string
	Eval    engine.Evaluator
	Rank    []engine.Objective
	Combine string
}

// RankDefaulter is an evaluator that knows how a cascade rung of it ranks best where
// the experiment does not say (the one-shot evaluator: by its loss, its angle and
// live params together). An experiment made before the current defaults
// (engine.Config.Defaults 0) ranks by its objectives, as it ran.
type RankDefaulter interface {
	DefaultRank() (rank []engine.Objective, combine string)
}

// byMeanRank says whether the rung places its results by the mean of their ranks.
func (r Rung) byMeanRank() bool { return r.Combine == "mean_rank" }

// cascadeFactory builds a cascade from its config: each rung's evaluator from the
// factories the experiment was built with.
func cascadeFactory(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
	opt := CascadeOptions{Eta: 3}
	if err := c.Decode(&opt); err != nil {
		return nil, err
	}
	if len(opt.Rungs) < 2 {
		return nil, errors.New("cascade: give at least two rungs, cheapest first (e.g. rungs: [{name: zerocost}, {name: table, path: nb201.csv}])")
	}
	var rungs []Rung
	for i, r := range opt.Rungs {
		f, ok := env.Factories[r.Name]
		if !ok {
			return nil, fmt.Errorf("cascade: rungs[%d]: unknown evaluator %q", i, r.Name)
		}
		ev, err := f(r.Component, env)
		if err != nil {
			return nil, fmt.Errorf("cascade: rungs[%d] (%s): %w", i, r.Name, err)
		}
		if _, ladder := ev.(engine.Laddered); ladder {
			return nil, fmt.Errorf("cascade: rungs[%d]: a cascade cannot hold a cascade (%s has rungs of its own)", i, r.Name)
		}
		rung := Rung{Name: r.Name, Eval: ev, Rank: r.Rank, Combine: r.Combine}
		if d, ok := ev.(RankDefaulter); ok && rung.Rank == nil && rung.Combine == "" && i < len(opt.Rungs)-1 && !c.Legacy() {
			rung.Rank, rung.Combine = d.DefaultRank()
		}
		rungs = append(rungs, rung)
	}
	return NewCascade(opt.Eta, rungs, env.Objectives, env.Measured)
}

// NewCascade is a cascade of rungs, cheapest first, each promoting the best 1/eta of
// what it has seen. objs are the experiment's objectives, which the last rung must
// give and which rank the other rungs where their Rank is nil (empty: the last
// rung's first metric, as engine.DefaultObjectives); measured are the metrics the
// engine adds from the IR. Every rung's rank metrics must be given by it.
func NewCascade(eta float64, rungs []Rung, objs []engine.Objective, measured []string) (*Cascade, error) {
	if eta <= 1 {
		return nil, fmt.Errorf("cascade: eta %v must be more than 1", eta)
	}
	if len(rungs) < 2 {
		return nil, errors.New("cascade: give at least two rungs, cheapest first")
	}
	cs := &Cascade{eta: eta, ladder: ladder{Eta: eta}}
	for i, r := range rungs {
		given := append(slices.Clone(r.Eval.Metrics()), measured...)
		if i < len(rungs)-1 && r.Rank == nil {
			r.Rank = defaultRank(objs, r.Eval.Metrics(), given)
		}
		for _, o := range r.Rank {
			if !slices.Contains(given, o.Name) {
				return nil, fmt.Errorf("cascade: rungs[%d] (%s) ranks by %s, which it does not give (it gives: %s)", i, r.Name, o.Name, strings.Join(given, ", "))
			}
		}
		switch {
		case !knownCombine(r.Combine):
			return nil, fmt.Errorf("cascade: rungs[%d] (%s): combine %q; give pareto or mean_rank", i, r.Name, r.Combine)
		case r.byMeanRank() && (i == len(rungs)-1 || len(r.Rank) < 2):
			return nil, fmt.Errorf("cascade: rungs[%d] (%s): combine: mean_rank needs a rung before the last that ranks by two or more metrics (rank: [oneshot_loss:min, params])", i, r.Name)
		}
		cs.rungs = append(cs.rungs, r)
	}
	if len(objs) == 0 {
		objs = engine.DefaultObjectives(cs.Metrics())
	}
	cs.final = objs[0]
	return cs, nil
}

// defaultRank is the objectives a rung gives; the first, where the rung does not give
// it, becomes the rung's own first metric, maximised.
func defaultRank(objs []engine.Objective, own, given []string) []engine.Objective {
	var out []engine.Objective
	for i, o := range objs {
		switch {
		case slices.Contains(given, o.Name):
			out = append(out, o)
		case i == 0:
			out = append(out, engine.Objective{Name: own[0], Direction: "max"})
		}
	}
	if len(out) == 0 {
		out = []engine.Objective{{Name: own[0], Direction: "max"}}
	}
	return out
}

// RungEvaluators names each rung's evaluator, cheapest first (engine.Laddered).
func (c *Cascade) RungEvaluators() []string {
	names := make([]string, len(c.rungs))
	for i, r := range c.rungs {
		names[i] = r.Name
	}
	return names
}

// Metrics are the last rung's metrics first (the objectives come from it), then the
// other rungs'.
func (c *Cascade) Metrics() []string {
	var out []string
	for i := len(c.rungs) - 1; i >= 0; i-- {
		for _, m := range c.rungs[i].Eval.Metrics() {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}

// score is a rung's first rank metric (the last rung's: the first objective),
// oriented so that higher is better; nil when the rung did not give it.
func (c *Cascade) score(rung int, m, measured map[string]float64) *float64 {
	o := c.final
	if r := c.rungs[rung].Rank; r != nil {
		o = r[0]
	}
	v, ok := oriented(o, m, measured)
	if !ok {
		return nil
	}
	return &v
}

// oriented is objective o's value in m, or failing that in measured (the IR's),
// negated when smaller is better.
func oriented(o engine.Objective, m, measured map[string]float64) (float64, bool) {
	v, ok := m[o.Name]
	if !ok {
		v, ok = measured[o.Name]
	}
	if !o.Maximise() {
		v = -v
	}
	return v, ok
}

func (c *Cascade) Evaluate(ctx context.Context, job engine.Job, progress func(engine.Progress)) (engine.Outcome, error) {
	info := job
	if info.Trial == 0 { // outside a search: an id of its own for the ladder
		info.Trial = 1<<63 | c.anonymous.Add(1)
	}
	out := engine.Outcome{Metrics: map[string]float64{}}
	for k, r := range c.rungs {
		o, err := r.Eval.Evaluate(ctx, job, progress)
		if err != nil {
			return engine.Outcome{}, fmt.Errorf("rung %d (%s): %w", k, r.Name, err)
		}
		for name, v := range o.Metrics {
			out.Metrics[name] = v
		}
		if o.Curve != nil {
			out.Curve = o.Curve
		}
		out.Rungs = append(out.Rungs, engine.RungResult{Rung: k, Evaluator: r.Name, Metrics: o.Metrics, Score: c.score(k, o.Metrics, info.Measured)})
		if o.Stop != nil { // the rung stopped the trial itself (a training's early stop)
			o.Stop.Rung = k
			out.Stop = o.Stop
			return out, nil
		}
		if k == len(c.rungs)-1 {
			break
		}
		scores, err := c.scores(k, o.Metrics, info.Measured)
		if err != nil {
			return engine.Outcome{}, err
		}
		if r.byMeanRank() {
			out.Rungs[k].Ranks = scores
		}
		c.mu.Lock()
		place, n, keep := c.ladder.place(k, info.Trial, scores, r.byMeanRank())
		c.mu.Unlock()
		stop := place >= keep && !job.Hand
		reason := placeReason(fmt.Sprintf("rung %d (%s)", k, r.Name), place, n, keep)
		if info.Replaying { // as it went the first time, whatever this history says
			stop = info.Replay != nil && info.Replay.Rule == engine.StopCascade && info.Replay.Rung == k
			if stop {
				reason = info.Replay.Reason
			}
		}
		if stop {
			out.Stop = &engine.Stop{Rung: k, Rule: engine.StopCascade, Reason: reason}
			return out, nil
		}
		out.Rungs[k].Promoted = true
	}
	return out, nil
}

// Observe records a trial evaluated elsewhere (a fork's history) at every rung it
// passed, as if this cascade had judged it.
func (c *Cascade) Observe(t engine.Trial) {
	for _, r := range t.Rungs {
		if r.Rung >= len(c.rungs)-1 {
			continue
		}
		scores, err := c.scores(r.Rung, r.Metrics, t.Metrics)
		if err != nil {
			continue
		}
		c.mu.Lock()
		c.ladder.place(r.Rung, t.ID, scores, c.rungs[r.Rung].byMeanRank())
		c.mu.Unlock()
	}
}

// scores are a rung's rank metrics, oriented so that higher is better.
func (c *Cascade) scores(rung int, m, measured map[string]float64) ([]float64, error) {
	out := make([]float64, len(c.rungs[rung].Rank))
	for i, o := range c.rungs[rung].Rank {
		v, ok := oriented(o, m, measured)
		if !ok {
			return nil, fmt.Errorf("rung %d (%s) gave no %s to rank by", rung, c.rungs[rung].Name, o.Name)
		}
		out[i] = v
	}
	return out, nil
}

// cascadeState is what a checkpoint keeps: the results each rung has seen, and the
// state of rungs that keep one (a one-shot supernet).
type cascadeState struct {
	Ladder json.RawMessage `json:"ladder"`
	Rungs  map[int][]byte  `json:"rungs,omitempty"`
}

func (c *Cascade) State() ([]byte, error) {
	c.mu.Lock()
	raw, err := json.Marshal(c.ladder)
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	st := cascadeState{Ladder: raw, Rungs: map[int][]byte{}}
	for i, r := range c.rungs {
		if s, ok := r.Eval.(engine.Stateful); ok {
			b, err := s.State()
			if err != nil {
				return nil, fmt.Errorf("rung %d (%s): %w", i, r.Name, err)
			}
			st.Rungs[i] = b
		}
	}
	return json.Marshal(st)
}

func (c *Cascade) Restore(b []byte) error {
	var st cascadeState
	var l ladder
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("cascade state: %w", err)
	}
	if err := json.Unmarshal(st.Ladder, &l); err != nil {
		return fmt.Errorf("cascade state: %w", err)
	}
	for i, raw := range st.Rungs {
		if i < 0 || i >= len(c.rungs) {
			return fmt.Errorf("cascade state: no rung %d", i)
		}
		if s, ok := c.rungs[i].Eval.(engine.Stateful); ok {
			if err := s.Restore(raw); err != nil {
				return fmt.Errorf("rung %d (%s): %w", i, c.rungs[i].Name, err)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l.Eta = c.eta
	c.ladder = l
	return nil
}

// Learning and Learn hand the engine the epochs of a rung that learns (a one-shot
// supernet), cheapest rung first.
func (c *Cascade) Learning() bool { return c.learner() != nil }

func (c *Cascade) Learn(ctx context.Context) error {
	if l := c.learner(); l != nil {
		return l.Learn(ctx)
	}
	return nil
}

func (c *Cascade) learner() learning.Learner {
	for _, r := range c.rungs {
		if l, ok := r.Eval.(learning.Learner); ok && l.Learning() {
			return l
		}
	}
	return nil
}

// Reports are the learning rungs' reports.
func (c *Cascade) Reports() []learning.Report {
	var out []learning.Report
	for _, r := range c.rungs {
		if rep, ok := r.Eval.(learning.Reporter); ok {
			out = append(out, rep.Reports()...)
		}
	}
	return out
}

// LargeState is the large states of the rungs that keep one (a one-shot supernet's
// weights), each after its rung's index and length; its version is the sum of
// theirs, which grows whenever one of them learns. Nil when no rung keeps one.
func (c *Cascade) LargeState() (int, []byte, error) {
	var out []byte
	version := 0
	for i, r := range c.rungs {
		x, ok := r.Eval.(engine.LargeStateful)
		if !ok {
			continue
		}
		v, b, err := x.LargeState()
		if err != nil {
			return 0, nil, fmt.Errorf("rung %d (%s): %w", i, r.Name, err)
		}
		version += v
		out = binary.AppendUvarint(out, uint64(i))
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return version, out, nil
}

func (c *Cascade) RestoreLargeState(b []byte) error {
	for len(b) > 0 {
		i, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("cascade weights: a rung index that does not decode")
		}
		b = b[n:]
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return fmt.Errorf("cascade weights: rung %d: a length that does not fit", i)
		}
		b = b[n:]
		if i >= uint64(len(c.rungs)) {
			return fmt.Errorf("cascade weights: no rung %d", i)
		}
		x, ok := c.rungs[i].Eval.(engine.LargeStateful)
		if !ok {
			return fmt.Errorf("cascade weights: rung %d (%s) keeps none", i, c.rungs[i].Name)
		}
		if err := x.RestoreLargeState(b[:size]); err != nil {
			return fmt.Errorf("rung %d (%s): %w", i, c.rungs[i].Name, err)
		}
		b = b[size:]
	}
	return nil
}
