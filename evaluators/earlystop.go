package evaluators

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"cellar/engine"
)

// EarlyStopOptions configure early stopping of the train evaluator, judged on the
// validation accuracy after each epoch.
//
//   - median (Golovin et al. 2017, Google Vizier): after grace epochs, a trial stops
//     at epoch t when its best accuracy so far is below the median, over the trials
//     that trained to the end, of their mean accuracy over epochs 1..t; it waits
//     until min_trials have trained to the end.
//   - asha (Li et al. 2020): rungs at grace·eta^k epochs; a trial reaching a rung goes
//     on only among the best ⌊n/eta⌋ of the n trials that reached it so far (at least
//     the best one).
//   - hyperband: asynchronous Hyperband, several asha brackets whose first rungs are
//     at grace·eta^b epochs, b = 0..⌊log_eta(epochs/grace)⌋; trial id i runs in
//     bracket i mod the number of brackets, so the brackets hedge between stopping
//     early and not stopping at all.
type EarlyStopOptions struct {
	Rule      string  `yaml:"rule"`       // median, asha or hyperband
	Grace     int     `yaml:"grace"`      // epochs before the first decision (1)
	Eta       float64 `yaml:"eta"`        // asha and hyperband: 1/eta of a rung goes on (3)
	MinTrials int     `yaml:"min_trials"` // median: trials trained to the end before any stop (3)
}

// stopper decides early stops for one search. Its state is every result it judged
// by, which goes into checkpoints.
type stopper struct {
	opt    EarlyStopOptions
	epochs int // a full training's epochs

	mu sync.Mutex
	st stopperState
}

type stopperState struct {
	Brackets []ladder             `json:"brackets,omitempty"` // asha: one; hyperband: several
	Finished map[uint64][]float64 `json:"finished,omitempty"` // median: validation curves of trials trained to the end
}

// DefaultEarlyStop are early stopping's defaults (a rule has none: give it), which a
// config's early_stop options are decoded onto.
var DefaultEarlyStop = EarlyStopOptions{Grace: 1, Eta: 3, MinTrials: 3}

func newStopper(opt EarlyStopOptions, epochs int) (*stopper, error) {
	switch {
	case opt.Rule != "median" && opt.Rule != "asha" && opt.Rule != "hyperband":
		return nil, fmt.Errorf("early_stop: rule %q; use median, asha or hyperband", opt.Rule)
	case opt.Grace < 1 || opt.Grace >= epochs:
		return nil, fmt.Errorf("early_stop: grace %d must be at least 1 and below epochs (%d), or nothing can stop", opt.Grace, epochs)
	case opt.Eta <= 1:
		return nil, fmt.Errorf("early_stop: eta %v must be more than 1", opt.Eta)
	case opt.MinTrials < 1:
		return nil, fmt.Errorf("early_stop: min_trials %d must be at least 1", opt.MinTrials)
	}
	s := &stopper{opt: opt, epochs: epochs}
	switch opt.Rule {
	case "asha":
		s.st.Brackets = []ladder{{Eta: opt.Eta}}
	case "hyperband":
		for b := 0; len(s.rungs(b)) > 0; b++ {
			s.st.Brackets = append(s.st.Brackets, ladder{Eta: opt.Eta})
		}
	}
	return s, nil
}

// rungs are bracket b's rung epochs: grace·eta^(b+k) below the full training.
func (s *stopper) rungs(b int) []int {
	var out []int
	for k := b; ; k++ {
		e := int(math.Round(float64(s.opt.Grace) * math.Pow(s.opt.Eta, float64(k))))
		if e >= s.epochs {
			return out
		}
		if len(out) == 0 || e > out[len(out)-1] {
			out = append(out, e)
		}
	}
}

// keep says whether trial id, with validation accuracies curve (one per epoch done),
// goes on training; when not, why.
func (s *stopper) keep(id uint64, curve []float64) (bool, *engine.Stop) {
	t := len(curve)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opt.Rule == "median" {
		return s.median(t, curve)
	}
	b := 0
	if s.opt.Rule == "hyperband" {
		b = int(id % uint64(len(s.st.Brackets)))
	}
	rung := slices.Index(s.rungs(b), t)
	if rung < 0 {
		return true, nil
	}
	place, n, keep := s.st.Brackets[b].place(rung, id, []float64{curve[t-1]}, false)
	if place < keep {
		return true, nil
	}
	what := fmt.Sprintf("val_accuracy %.2f at epoch %d", curve[t-1], t)
	if s.opt.Rule == "hyperband" {
		what = fmt.Sprintf("bracket %d, %s", b, what)
	}
	return false, &engine.Stop{Rung: rung, Epoch: float64(t), Rule: s.opt.Rule, Reason: placeReason(what, place, n, keep)}
}

func (s *stopper) median(t int, curve []float64) (bool, *engine.Stop) {
	if t < s.opt.Grace || len(s.st.Finished) < s.opt.MinTrials {
		return true, nil
	}
	var means []float64
	for _, c := range s.st.Finished {
		if len(c) >= t {
			var sum float64
			for _, v := range c[:t] {
				sum += v
			}
			means = append(means, sum/float64(t))
		}
	}
	if len(means) < s.opt.MinTrials {
		return true, nil
	}
	med := median(means)
	best := slices.Max(curve)
	if best >= med {
		return true, nil
	}
	return false, &engine.Stop{Epoch: float64(t), Rule: "median", Reason: fmt.Sprintf("best val_accuracy %.2f by epoch %d is below %.2f, the median of %d finished trials' running means", best, t, med, len(means))}
}

// finished records a trial that trained to the end, for the median rule.
func (s *stopper) finished(id uint64, curve []float64) {
	if s.opt.Rule != "median" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Finished == nil {
		s.st.Finished = map[uint64][]float64{}
	}
	s.st.Finished[id] = curve
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (s *stopper) state() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return json.Marshal(s.st)
}

func (s *stopper) restore(b []byte) error {
	var st stopperState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("early stop state: %w", err)
	}
	if len(st.Brackets) != len(s.st.Brackets) {
		return fmt.Errorf("early stop state: %d brackets, but the experiment makes %d", len(st.Brackets), len(s.st.Brackets))
	}
	for i := range st.Brackets {
		st.Brackets[i].Eta = s.opt.Eta
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
	return nil
}

// earlyStopping is what an evaluator that trains embeds to stop trainings early: the
// judgement after each epoch of a trial, the history a fork hands over (Observe), and
// the rule's state in checkpoints (State, Restore). With stop nil it never stops and
// keeps no state.
type earlyStopping struct {
	stop   *stopper
	metric string // the curve's metric it judges by (val_accuracy)
}

// judge returns the decision after each epoch of one trial, given its value of the
// metric then: go on, or stop, and why. A replayed trial stops where it stopped the
// first time, whatever this history says.
func (e *earlyStopping) judge(job engine.Job) func(epochs int, val float64) (bool, *engine.Stop) {
	var curve []float64
	return func(epochs int, val float64) (bool, *engine.Stop) {
		curve = append(curve, val)
		if job.Replaying {
			if r := job.Replay; r != nil && r.Rule != engine.StopCascade && r.Epoch == float64(epochs) {
				cp := *r
				return false, &cp
			}
			return true, nil
		}
		return e.stop.keep(job.Trial, curve)
	}
}

// finished records a trial that trained to the end, with its curve of the metric.
func (e *earlyStopping) finished(job engine.Job, curve []float64) {
	if e.stop != nil {
		e.stop.finished(job.Trial, curve)
	}
}

// Judge is the decision after each epoch of a trial from its epoch reports, for a
// search whose trials train elsewhere (engine.EpochJudge); nil without early stopping.
// A report without the metric is no decision.
func (e *earlyStopping) Judge(job engine.Job) func(epoch int, metrics map[string]float64) (bool, *engine.Stop) {
	if e.stop == nil {
		return nil
	}
	judge := e.judge(job)
	return func(epoch int, metrics map[string]float64) (bool, *engine.Stop) {
		v, ok := metrics[e.metric]
		if !ok || epoch >= e.stop.epochs { // the last epoch is never judged: it is done
			return true, nil
		}
		return judge(epoch, v)
	}
}

// Finished records a trial trained to the end elsewhere, by its curve.
func (e *earlyStopping) Finished(job engine.Job, curve []engine.CurvePoint) {
	var vals []float64
	for _, p := range curve {
		if v, ok := p.Metrics[e.metric]; ok {
			vals = append(vals, v)
		}
	}
	e.finished(job, vals)
}

// Observe records a trial trained elsewhere (a fork's history) for early stopping.
func (e *earlyStopping) Observe(tr engine.Trial) {
	if e.stop == nil {
		return
	}
	curve := make([]float64, len(tr.Curve))
	for i, p := range tr.Curve {
		curve[i] = p.Metrics[e.metric]
	}
	for n := 1; n <= len(curve); n++ {
		if ok, _ := e.stop.keep(tr.ID, curve[:n]); !ok {
			return
		}
	}
	if tr.Stop == nil {
		e.stop.finished(tr.ID, curve)
	}
}

// State and Restore keep the early-stopping rule's history in checkpoints.
func (e *earlyStopping) State() ([]byte, error) {
	if e.stop == nil {
		return nil, nil
	}
	return e.stop.state()
}

func (e *earlyStopping) Restore(b []byte) error {
	if e.stop == nil || b == nil {
		return nil
	}
	return e.stop.restore(b)
}
