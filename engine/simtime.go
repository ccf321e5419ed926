package engine

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// SimTime rehearses a search on a table at the cost of the real thing: each trial is
// charged the training time the table records for its arch (Column), or, where it
// records none, a model of it from the arch's FLOPs (3 x FLOPs per sample for the
// forward and backward passes, x Samples x Epochs, at Rate FLOP/s). The search's
// clock is then simulated: trials run on Parallelism simulated workers, each trial
// on the first free one in trial order, and a time budget is spent when no worker
// is free before it. Strategies compared at equal simulated time, as the NAS-Bench-201
// paper compares them, pay for preferring large networks. With parallelism P, up to
// P-1 trials asked before the budget was known to be spent (the trials ahead of them
// were still out) run too.
type SimTime struct {
	Column  string
	Epochs  int
	Samples int
	Rate    float64
}

// DefaultSimTime models NAS-Bench-201's search setting: 12 epochs on 25,000 CIFAR-10
// images, at an effective 1e12 FLOP/s, which charges its mean arch (about 115 MFLOPs)
// about 100 s, so its 12,000 s budget buys about 120 trials.
var DefaultSimTime = SimTime{Column: "train_seconds", Epochs: 12, Samples: 25000, Rate: 1e12}

// MetricSimulated is the simulated seconds a trial was charged.
const MetricSimulated = "simulated_seconds"

// Seconds is what a trial with these metrics is charged; false when neither the
// column nor flops is there.
func (s SimTime) Seconds(m map[string]float64) (float64, bool) {
	if v, ok := m[s.Column]; ok && v >= 0 && !math.IsInf(v, 0) {
		return v, true
	}
	f, ok := m["flops"]
	if !ok {
		return 0, false
	}
	return 3 * f * float64(s.Samples) * float64(s.Epochs) / s.Rate, true
}

// Check reports a model that cannot charge anything.
func (s SimTime) Check() error {
	if s.Epochs < 1 || s.Samples < 1 || s.Rate <= 0 {
		return fmt.Errorf("simulated time: the FLOPs model needs positive epochs (%d), samples (%d) and rate (%g)", s.Epochs, s.Samples, s.Rate)
	}
	return nil
}

// charge puts a final trial's simulated time on its metrics. A failed trial, and one
// a cascade stopped before its last rung (proxies cost next to nothing), cost nothing.
func (e *Engine) charge(t *Trial) error {
	if e.opt.Simulate == nil || t.State != Done {
		return nil
	}
	if t.Duplicate != 0 {
		t.Metrics[MetricSimulated] = 0 // not evaluated
		return nil
	}
	if t.Stop != nil && t.Stop.Rule == StopCascade {
		t.Metrics[MetricSimulated] = 0
		return nil
	}
	secs, ok := e.opt.Simulate.Seconds(t.Metrics)
	if !ok {
		return fmt.Errorf("simulated time: trial %d has neither %s nor flops", t.ID, e.opt.Simulate.Column)
	}
	t.Metrics[MetricSimulated] = secs
	return nil
}

// simAdvance runs a told trial on the first free simulated worker.
func (e *Engine) simAdvance(t Trial) {
	if e.opt.Simulate == nil {
		return
	}
	if len(e.simClocks) == 0 {
		e.simClocks = make([]float64, e.exp.Config.Parallelism)
	}
	i := slices.Index(e.simClocks, slices.Min(e.simClocks))
	e.simClocks[i] += t.Metrics[MetricSimulated]
}

// simElapsed is the simulated time: when the busiest worker is done.
func (e *clock) simElapsed() time.Duration {
	if len(e.simClocks) == 0 {
		return 0
	}
	return time.Duration(slices.Max(e.simClocks) * float64(time.Second))
}

// simSpent says whether no simulated worker is free before the time budget.
func (e *Engine) simSpent() bool {
	b := e.exp.Config.Budget.Time
	return b > 0 && len(e.simClocks) > 0 && slices.Min(e.simClocks) >= b.Seconds()
}

// clock is the time a run has searched: the wall time spent in Searching (paused time
// does not count), or with Options.Simulate, each simulated worker's busy-until.
type clock struct {
	timeUp      bool          // the time budget is spent
	elapsed     time.Duration // wall time spent searching before activeSince
	activeSince time.Time     // zero while paused
	simClocks   []float64     // with Options.Simulate, in seconds
}

// searched is the wall time spent searching, up to now.
func (c *clock) searched() time.Duration {
	if c.activeSince.IsZero() {
		return c.elapsed
	}
	return c.elapsed + time.Since(c.activeSince)
}

// searching starts or stops the wall clock.
func (c *clock) searching(on bool) {
	if on && c.activeSince.IsZero() {
		c.activeSince = time.Now()
	} else if !on && !c.activeSince.IsZero() {
		c.elapsed += time.Since(c.activeSince)
		c.activeSince = time.Time{}
	}
}
