package engine

import (
	"sort"
	"time"
)

// State is a trial's state.
type State string

const (
	Queued    State = "queued"
	Running   State = "running"
	Done      State = "done"
	Failed    State = "failed"
	Cancelled State = "cancelled" // stopped by a pause or shutdown; it runs again on resume
)

// OriginHand marks a trial made by hand (Engine.Inject); other trials carry the name
// of the strategy that asked for them.
const OriginHand = "hand"

// Trial is one evaluation of one architecture.
type Trial struct {
	ID     uint64 `json:"id"`
	Arch   string `json:"arch"`
	Origin string `json:"origin"`
	Parent uint64 `json:"parent,omitempty"`
	// Duplicate is the earlier trial this one computes the same as (Config.Dedupe):
	// it took that trial's outcome and was not evaluated.
	Duplicate uint64             `json:"duplicate,omitempty"`
	State     State              `json:"state"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Curve     []CurvePoint       `json:"curve,omitempty"`
	Error     string             `json:"error,omitempty"`
	// Seed is the trial's own seed (TrialSeed of the experiment's seed and the id),
	// which evaluators that draw random numbers use.
	Seed uint64 `json:"seed,omitempty"`
	// Stop is set when the trial stopped early (see Stop); Rungs holds each rung's
	// result when the evaluator is a cascade.
	Stop  *Stop        `json:"stop,omitempty"`
	Rungs []RungResult `json:"rungs,omitempty"`
	// Log is the last lines the evaluation printed (an external command's).
	Log      []string  `json:"log,omitempty"`
	Queued   time.Time `json:"queued"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// Final says whether the trial has a final outcome (done or failed).
func (t *Trial) Final() bool { return t.State == Done || t.State == Failed }

// Full says whether the trial is done at full fidelity: not stopped early.
func (t *Trial) Full() bool { return t.State == Done && t.Stop == nil }

// Status is the state for display: "dup" for a duplicate of an earlier trial (not
// evaluated), "stopped" for a done trial that stopped early.
func (t *Trial) Status() string {
	if t.State == Done && t.Duplicate != 0 {
		return "dup"
	}
	if t.State == Done && t.Stop != nil {
		return "stopped"
	}
	return string(t.State)
}

// Duration is how long the evaluation ran.
func (t *Trial) Duration() time.Duration {
	if t.Started.IsZero() || t.Finished.IsZero() {
		return 0
	}
	return t.Finished.Sub(t.Started)
}

// MetricNames lists every metric name among trials, sorted.
func MetricNames(trials []Trial) []string {
	seen := map[string]bool{}
	for _, t := range trials {
		for k := range t.Metrics {
			seen[k] = true
		}
	}
	names := make([]string, 0, len(seen))
	for k := range seen {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Pending is a trial that was asked for but has no stored outcome yet; a checkpoint
// lists them so a resumed search evaluates them again under the same ids.
type Pending struct {
	ID     uint64 `json:"id"`
	Arch   string `json:"arch"`
	Origin string `json:"origin"`
	Parent uint64 `json:"parent,omitempty"`
}

// Checkpoint is everything a search needs to continue exactly: the strategy's state
// after telling every trial before Pending[0], the trials asked and not yet told, the
// next trial id and the wall time used.
type Checkpoint struct {
	Strategy []byte `json:"strategy"`
	// Evaluator is the state of an evaluator that keeps one (the one-shot supernet).
	Evaluator []byte `json:"evaluator,omitempty"`
	// Objectives are the experiment's objectives as the search resolved them (a config
	// without any gets its evaluator's first metric), so that readers that do not
	// build the evaluator (show, the browser) rank trials as the search did.
	Objectives []Objective `json:"objectives,omitempty"`
	// Front is the experiment's Pareto front (trial ids), with two or more objectives.
	Front   []uint64  `json:"front,omitempty"`
	Pending []Pending `json:"pending"`
	NextID  uint64    `json:"next_id"`
	// Steered are the values steering has set (see Engine.Steer), applied again on
	// resume over the experiment's own.
	Steered map[string]float64 `json:"steered,omitempty"`
	// Large holds the large pieces of state (LargeStateful) by part, "strategy" and
	// "evaluator": in a commit, those that changed since the previous one; from a
	// Store, all. A Store keeps each apart from the checkpoint, replaced when given.
	Large map[string][]byte `json:"-"`
	// Journal holds the journal entries made since the previous commit. A Store keeps
	// them in the same transaction as the checkpoint, but apart from it: the
	// checkpoint is replaced at each commit, the journal only grows.
	Journal []Entry `json:"-"`
	// SimClocks are the simulated workers' clocks, with a simulated time.
	SimClocks []float64     `json:"sim_clocks,omitempty"`
	Elapsed   time.Duration `json:"elapsed"`
	Finished  bool          `json:"finished"`
}
