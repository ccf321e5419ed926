package engine

import (
	"math"

	"cellar/stats"
)

// Multi-fidelity: a trial may end before its full evaluation, because a cheaper
// measurement of it (fewer epochs, a cheaper evaluator) ranked it too low. Such a
// trial is done, but stopped: it keeps what it measured and says where and why it
// stopped. It never becomes the best trial nor joins the Pareto front, which are
// judged at full fidelity; the strategy learns its score when it has the objective
// (a stopped training has a validation accuracy, lower than a finished one would
// have) and treats it as failed when it has not (a cascade stopped at a proxy).

// Stop says where and why a trial stopped early.
type Stop struct {
	Rung   int     `json:"rung"`            // the rung it reached (0 is the first)
	Epoch  float64 `json:"epoch,omitempty"` // the epochs it trained, for training
	Rule   string  `json:"rule"`            // median, asha, hyperband, or StopCascade
	Reason string  `json:"reason"`
}

// StopCascade is the Stop rule of a trial a Laddered evaluator stopped before its last
// rung: its cheap rungs cost next to nothing, so simulated time charges it nothing.
const StopCascade = "cascade"

// RungResult is one rung of a cascade: what that rung's evaluator measured.
type RungResult struct {
	Rung      int                `json:"rung"`
	Evaluator string             `json:"evaluator"`
	Metrics   map[string]float64 `json:"metrics"`
	Promoted  bool               `json:"promoted"`
	// Score is the rung's first rank metric (the last rung's: the first objective),
	// oriented so that higher is better: what the correlations between rungs compare.
	// Nil when the rung gave no such metric.
	Score *float64 `json:"score,omitempty"`
	// Ranks are, for a rung that promotes by the mean of its rank metrics' ranks
	// (`combine: mean_rank`), every rank metric's value, oriented as Score, in the
	// rung's order: the correlations then rank the trials as the rung does, by the mean
	// of these ranks among them, not by Score alone.
	Ranks []float64 `json:"ranks,omitempty"`
}

// TrialSeed is the seed of trial id in an experiment seeded with seed: it depends on
// nothing else, so a trial draws the same numbers whichever worker runs it and
// whenever (splitmix64 of the pair).
func TrialSeed(seed, id uint64) uint64 {
	z := seed ^ (id * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// RungCorrelation is the rank correlation between two consecutive rungs over the
// trials that reached both, by their scores (see RungCorrelations).
type RungCorrelation struct {
	From, To int // rung indexes
	N        int // trials that reached both
	Spearman float64
	Kendall  float64
	// ParamsKendall is the Kendall tau of the same trials' parameter counts against
	// the To rung's score: what a free proxy ranks as well. A cheap rung (a one-shot
	// supernet's score) that ranks below it saves nothing. NaN without params.
	ParamsKendall float64
	// WithParamsKendall is the Kendall tau of the mean of the From rung's rank and the
	// parameter counts' (stats.MeanRank) against the To rung's score: how a rung that
	// ranks by both (`combine: mean_rank`) would do. NaN without params.
	WithParamsKendall float64
	// LiveParamsKendall is ParamsKendall of the trials' live parameter counts (the
	// ones the output depends on: spaces.Net.LiveParams), where every such trial has
	// them (the oneshot evaluator reports them). It is the stronger free proxy: a
	// dead branch's parameters make params misrank. NaN without them.
	LiveParamsKendall float64
}

// Weaker says whether the From rung ranks the trials worse than their parameter
// counts do, all of them or the live ones.
func (c RungCorrelation) Weaker() bool {
	return c.Kendall < c.ParamsKendall || c.Kendall < c.LiveParamsKendall
}

// metricOf is a trial's value of a metric of its network (params, live_params) from
// its rungs' metrics (every rung of a cascade over one space builds the same
// network), or from its own.
func metricOf(t Trial, name string) (float64, bool) {
	for _, r := range t.Rungs {
		if v, ok := r.Metrics[name]; ok {
			return v, true
		}
	}
	v, ok := t.Metrics[name]
	return v, ok
}

// RungCorrelations are, for each pair of consecutive rungs, the Spearman and Kendall
// rank correlations of the trials that reached both, on each rung's score (on the
// mean rank of its Ranks, for a rung that has them on every such trial). They say
// whether a cheap rung orders candidates as the next one does.
func RungCorrelations(trials []Trial) []RungCorrelation {
	depth := 0
	for _, t := range trials {
		depth = max(depth, len(t.Rungs))
	}
	var out []RungCorrelation
	for r := 0; r+1 < depth; r++ {
		var x, y, params, live []float64
		var ranks [][]float64 // the From rung's Ranks, by metric, while every trial has as many
		withParams, withLive, byRanks := true, true, true
		for _, t := range trials {
			if len(t.Rungs) <= r+1 || t.Duplicate != 0 { // a duplicate reached no rung itself
				continue
			}
			if a, b := t.Rungs[r].Score, t.Rungs[r+1].Score; a != nil && b != nil {
				x, y = append(x, *a), append(y, *b)
				p, ok := metricOf(t, "params")
				params, withParams = append(params, p), withParams && ok
				l, ok := metricOf(t, "live_params")
				live, withLive = append(live, l), withLive && ok
				rs := t.Rungs[r].Ranks
				if ranks == nil && byRanks {
					ranks = make([][]float64, len(rs))
				}
				if byRanks = byRanks && len(rs) >= 2 && len(rs) == len(ranks); byRanks {
					for i, v := range rs {
						ranks[i] = append(ranks[i], v)
					}
				}
			}
		}
		if byRanks && len(x) > 0 { // a mean_rank rung's order (trials stored before Ranks have none)
			x = stats.MeanRank(ranks...)
		}
		c := RungCorrelation{From: r, To: r + 1, N: len(x), Spearman: math.NaN(), Kendall: math.NaN(), ParamsKendall: math.NaN(), WithParamsKendall: math.NaN(),
			LiveParamsKendall: math.NaN()}
		if len(x) >= 3 {
			c.Spearman, c.Kendall = stats.Spearman(x, y), stats.Kendall(x, y)
			if withParams {
				c.ParamsKendall = stats.Kendall(params, y)
				c.WithParamsKendall = stats.Kendall(stats.MeanRank(x, params), y)
			}
			if withLive {
				c.LiveParamsKendall = stats.Kendall(live, y)
			}
		}
		out = append(out, c)
	}
	return out
}
