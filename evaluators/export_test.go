package evaluators

import "cellar/engine"

// What the package's external tests (which run whole searches through
// internal/enginetest, and so cannot be in this package) need to see.

// Ladder is the cascade's promotion rule, to recompute its decisions from the trials.
type Ladder = ladder

func (l *Ladder) Place(rung int, id uint64, scores []float64) (place, n, keep int) {
	return l.place(rung, id, scores, false)
}

// PlaceByMeanRank places as a rung with `combine: mean_rank` does.
func (l *Ladder) PlaceByMeanRank(rung int, id uint64, scores []float64) (place, n, keep int) {
	return l.place(rung, id, scores, true)
}

// RungRank is what ranks rung i of a cascade.
func RungRank(c *Cascade, i int) []engine.Objective { return c.rungs[i].Rank }
