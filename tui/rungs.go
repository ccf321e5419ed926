package tui

import (
	"fmt"
	"math"
	"strings"

	"cellar/engine"
)

// rungStats keeps the trials that climbed a cascade past its first rung, to show
// live how well each rung orders candidates as the next one does: Spearman's rho
// and Kendall's tau between consecutive rungs, over the trials that reached both.
type rungStats struct {
	cascade bool           // the evaluator is a cascade
	climbed []engine.Trial // trials with two or more rungs, only their rungs kept
	cached  string
	at      int // len(climbed) when cached was computed
}

func (r *rungStats) add(t engine.Trial) {
	if !r.cascade || len(t.Rungs) < 2 {
		return
	}
	r.climbed = append(r.climbed, engine.Trial{ID: t.ID, Rungs: t.Rungs})
}

// line is the correlations for the header, e.g. "rungs 0→1 ρ 0.62 τ 0.45 (n 40),
// params τ 0.51, both τ 0.55, live params τ 0.56 ⚠ rung 0 ranks below live params"
// (both: the mean of the rung's rank and params', as `combine: mean_rank` ranks; live
// params: the ones the output depends on, where the rung reports them): a
// weight-sharing rung whose ranking of the trials trained since is worse than their
// parameter counts' is warned of live. Computed again only when a trial has climbed
// since.
func (r *rungStats) line() string {
	if !r.cascade {
		return ""
	}
	if r.at == len(r.climbed) && r.cached != "" {
		return r.cached
	}
	r.at = len(r.climbed)
	var parts []string
	for _, c := range engine.RungCorrelations(r.climbed) {
		if math.IsNaN(c.Spearman) {
			parts = append(parts, fmt.Sprintf("rungs %d→%d: %d trials", c.From, c.To, c.N))
			continue
		}
		p := fmt.Sprintf("rungs %d→%d ρ %.2f τ %.2f (n %d)", c.From, c.To, c.Spearman, c.Kendall, c.N)
		if !math.IsNaN(c.ParamsKendall) {
			p += fmt.Sprintf(", params τ %.2f", c.ParamsKendall)
			if !math.IsNaN(c.WithParamsKendall) { // NaN when the two orders cancel out
				p += fmt.Sprintf(", both τ %.2f", c.WithParamsKendall)
			}
		}
		if !math.IsNaN(c.LiveParamsKendall) {
			p += fmt.Sprintf(", live params τ %.2f", c.LiveParamsKendall)
		}
		switch {
		case c.Kendall < c.ParamsKendall:
			p += " ⚠ rung " + fmt.Sprint(c.From) + " ranks below params"
		case c.Weaker():
			p += " ⚠ rung " + fmt.Sprint(c.From) + " ranks below live params"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		parts = []string{"rungs: none promoted yet"}
	}
	r.cached = strings.Join(parts, ", ")
	return r.cached
}
