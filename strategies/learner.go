package strategies

import (
	"context"

	"cellar/nn"
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

// softmax of each row.
func softmax(rows [][]float64) [][]float64 {
	out := make([][]float64, len(rows))
	for i, row := range rows {
		out[i] = nn.Softmax(row)
	}
	return out
}
