package evaluators

import (
	"fmt"
	"math"

	"cellar/pareto"
	"cellar/stats"
)

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
// collapses several objectives into one, unless the rung asks for their mean rank
// (one score that is better predicted by two, as a supernet's loss and params).
type ladder struct {
	Eta   float64        `json:"eta"`
	Rungs [][]rungRecord `json:"rungs"`
}

// place records a trial's scores at a rung and returns its place there (0 is the
// best) among the n results recorded, and how many go on; with meanRank, several
// scores are placed by the mean of their ranks among the rung's results.
func (l *ladder) place(rung int, id uint64, scores []float64, meanRank bool) (place, n, keep int) {
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
	if meanRank {
		return meanRankOf(recs, at), n, keep
	}
	return rankOf(recs, at), n, keep
}

// meanRankOf is the place of recs[at] by the mean of its ranks under each score: how
// many results have a strictly better mean, so that ties favour the trial being judged.
// A NaN score (a diverged loss) ranks last under its metric.
func meanRankOf(recs []rungRecord, at int) int {
	columns := make([][]float64, len(recs[at].Scores))
	for j := range columns {
		columns[j] = make([]float64, len(recs))
		for i, r := range recs {
			columns[j][i] = r.Scores[j]
			if math.IsNaN(r.Scores[j]) {
				columns[j][i] = math.Inf(-1)
			}
		}
	}
	mean := stats.MeanRank(columns...)
	before := 0
	for _, m := range mean {
		if m > mean[at] {
			before++
		}
	}
	return before
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

// placeReason says why a trial stopped at a rung, in words.
func placeReason(what string, place, n, keep int) string {
	return fmt.Sprintf("%s: ranked %d of %d; the best %d go on", what, place+1, n, keep)
}
