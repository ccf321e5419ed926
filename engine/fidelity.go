package engine

import (
	"fmt"
	"math"

	"cellar/pareto"
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
	Rule   string  `json:"rule"`            // median, asha, hyperband, cascade
	Reason string  `json:"reason"`
}

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

// rungRecord is one trial's scores at one rung, oriented so that higher is better.
type rungRecord struct {
	ID     uint64    `json:"id"`
	Scores []float64 `json:"scores"`
}

// ladder keeps the results seen at each rung and decides promotions the way
// asynchronous successive halving does: a trial arriving at a rung goes on when it is
// among the best ⌊n/η⌋ of the n results that rung has seen, itself included (at least
// the best one goes on, so the first arrivals are not all stopped). With one score a
// result's place is its order by score; with several, its non-dominated front, then
// its crowding distance within the front (NSGA-II's order), so that promotion never
// collapses several objectives into one.
type ladder struct {
	Eta   float64        `json:"eta"`
	Rungs [][]rungRecord `json:"rungs"`
}

// place records a trial's scores at a rung and returns its place there (0 is the
// best) among the n results recorded, and how many go on.
func (l *ladder) place(rung int, id uint64, scores []float64) (place, n, keep int) {
	for len(l.Rungs) <= rung {
		l.Rungs = append(l.Rungs, nil)
	}
	recs := l.Rungs[rung]
	at := -1
	for i, r := range recs {
		if r.ID == id { // a trial run again after a pause keeps one record
			recs[i].Scores, at = scores, i
		}
	}
	if at < 0 {
		recs = append(recs, rungRecord{ID: id, Scores: scores})
		at = len(recs) - 1
	}
	l.Rungs[rung] = recs
	n = len(recs)
	keep = max(1, int(math.Floor(float64(n)/l.Eta)))
	return rankOf(recs, at), n, keep
}

// rankOf is the place of recs[at] among recs: how many results rank strictly before
// it, so that ties favour the trial being judged.
func rankOf(recs []rungRecord, at int) int {
	if len(recs[at].Scores) == 1 {
		before := 0
		for _, r := range recs {
			if r.Scores[0] > recs[at].Scores[0] {
				before++
			}
		}
		return before
	}
	points := make([][]float64, len(recs))
	up := make([]bool, len(recs[at].Scores))
	for i, r := range recs {
		points[i] = r.Scores
	}
	for i := range up {
		up[i] = true
	}
	before := 0
	for _, front := range pareto.Sort(points, up) {
		in := -1
		for k, i := range front {
			if i == at {
				in = k
			}
		}
		if in < 0 {
			before += len(front)
			continue
		}
		crowd := pareto.Crowding(points, front)
		for k := range front {
			if crowd[k] > crowd[in] {
				before++
			}
		}
		return before
	}
	return before // at has a NaN score: sorted behind every front
}

// RungCorrelation is the rank correlation between two consecutive rungs over the
// trials that reached both, by their first score.
type RungCorrelation struct {
	From, To int // rung indexes
	N        int // trials that reached both
	Spearman float64
	Kendall  float64
}

// RungCorrelations are, for each pair of consecutive rungs, the Spearman and Kendall
// rank correlations of the trials that reached both, on each rung's score. They say
// whether a cheap rung orders candidates as the next one does.
func RungCorrelations(trials []Trial) []RungCorrelation {
	depth := 0
	for _, t := range trials {
		depth = max(depth, len(t.Rungs))
	}
	var out []RungCorrelation
	for r := 0; r+1 < depth; r++ {
		var x, y []float64
		for _, t := range trials {
			if len(t.Rungs) <= r+1 {
				continue
			}
			if a, b := t.Rungs[r].Score, t.Rungs[r+1].Score; a != nil && b != nil {
				x, y = append(x, *a), append(y, *b)
			}
		}
		c := RungCorrelation{From: r, To: r + 1, N: len(x), Spearman: math.NaN(), Kendall: math.NaN()}
		if len(x) >= 3 {
			c.Spearman, c.Kendall = stats.Spearman(x, y), stats.Kendall(x, y)
		}
		out = append(out, c)
	}
	return out
}

// placeReason says why a trial stopped at a rung, in words.
func placeReason(what string, place, n, keep int) string {
	return fmt.Sprintf("%s: ranked %d of %d; the best %d go on", what, place+1, n, keep)
}
