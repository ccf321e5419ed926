// Package learning is the contract between the engine, the strategies and the
// evaluators for the parts of a search that learn as it runs (a learner's epochs
// and the reports they make) and for the settings a user may change while it runs
// (knobs). It sits below all three, so none of them imports another for it.
package learning

import (
	"context"
	"fmt"
	"math"
	"strconv"
)

// Learner is a part of a search that trains a model of its own, epoch by epoch, before
// it can ask (DARTS) or evaluate (the one-shot evaluator). The engine runs the epochs
// on a goroutine of its own while nothing else touches the learner, and saves the
// learner's state after each one.
type Learner interface {
	// Learning says whether another epoch is wanted before the next ask or evaluation.
	Learning() bool
	// Learn runs one epoch. When ctx ends first it returns ctx's error and leaves the
	// state as it was before the call, so the epoch can be run again.
	Learn(ctx context.Context) error
}

// Report is one point of a learner's progress, for display: a REINFORCE update, a
// DARTS or supernet epoch.
type Report struct {
	Source string             `json:"source"` // the strategy or evaluator: reinforce, darts, oneshot
	Step   int                `json:"step"`   // the update or epoch, from 1
	Of     int                `json:"of,omitempty"`
	Values map[string]float64 `json:"values"` // reward, entropy, train_loss, val_loss...
	Alphas *Alphas            `json:"alphas,omitempty"`
}

// Alphas are DARTS' architecture weights after softmax: a distribution over Ops for
// each of Edges.
type Alphas struct {
	Edges   []string    `json:"edges"`
	Ops     []string    `json:"ops"`
	Weights [][]float64 `json:"weights"`
}

// Reporter keeps its reports, in its state, so they survive a restart.
type Reporter interface {
	Reports() []Report
}

// maxReports bounds the reports kept: older ones are thinned to every other one, so
// a long search keeps its whole span at half the resolution.
const maxReports = 2000

// AppendReport appends r to rs, thinning rs when it grows past maxReports. It may
// rewrite rs in place.
func AppendReport(rs []Report, r Report) []Report {
	rs = append(rs, r)
	if len(rs) > maxReports {
		kept := rs[:0]
		for i, x := range rs {
			if i%2 == 1 || i == len(rs)-1 {
				kept = append(kept, x)
			}
		}
		rs = kept
	}
	return rs
}

// Knob is a setting of a strategy that a user may change while the search runs
// (steering). Value is the current setting; a new one must lie in [Min, Max] and be
// whole where Integer is set.
type Knob struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Integer bool    `json:"integer,omitempty"`
	Help    string  `json:"help"`
}

// Range is the knob's range as the TUI shows it and a refusal names it: "15…1e+09",
// the bounds in Go's shortest form (a whole number's range starts at the whole number
// a value must reach).
func (k Knob) Range() string {
	lo, hi := k.Min, k.Max
	if k.Integer {
		lo, hi = math.Ceil(lo), math.Floor(hi)
	}
	return strconv.FormatFloat(lo, 'g', -1, 64) + "…" + strconv.FormatFloat(hi, 'g', -1, 64)
}

// Check tests v against the knob's range and wholeness.
func (k Knob) Check(v float64) error {
	switch {
	case math.IsNaN(v) || v < k.Min || v > k.Max:
		return fmt.Errorf("%s %v must be in %s", k.Name, v, k.Range())
	case k.Integer && v != math.Trunc(v):
		return fmt.Errorf("%s %v must be a whole number", k.Name, v)
	}
	return nil
}
