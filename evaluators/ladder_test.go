package evaluators

import (
	"math"
	"testing"
)

// The ladder's rule by hand: with eta 3, n results at a rung keep the best ⌊n/3⌋, at
// least one, and ties favour the newcomer.
func TestLadderPromotesTopFraction(t *testing.T) {
	l := ladder{Eta: 3}
	for i, c := range []struct {
		score          float64
		place, n, keep int
		promoted       bool
	}{
		{50, 0, 1, 1, true},    // the first always goes on
		{40, 1, 2, 1, false},   // second of 2, keep 1
		{60, 0, 3, 1, true},    // best of 3
		{55, 1, 4, 1, false},   // second of 4, keep 1
		{58, 1, 5, 1, false},   // second of 5
		{59, 1, 6, 2, true},    // second of 6, keep 2
		{60, 0, 7, 2, true},    // ties the best: nothing is strictly better
		{10, 7, 8, 2, false},   // last
		{58.5, 3, 9, 3, false}, // behind 60, 60, 59
	} {
		place, n, keep := l.place(0, uint64(i+1), []float64{c.score}, false)
		if place != c.place || n != c.n || keep != c.keep || (place < keep) != c.promoted {
			t.Errorf("result %d (%v): place %d of %d keep %d; want %d of %d keep %d", i+1, c.score, place, n, keep, c.place, c.n, c.keep)
		}
	}
	// A trial judged again (run again after a pause) keeps one record.
	if _, n, _ := l.place(0, 3, []float64{60}, false); n != 9 {
		t.Errorf("a repeat made %d records; want 9", n)
	}
}

// With two objectives the place is by front, then crowding: a point no other
// dominates is placed before every dominated one, whatever its first score.
func TestLadderMultiObjectiveUsesFronts(t *testing.T) {
	l := ladder{Eta: 2}
	// (accuracy, -params): higher is better in both.
	l.place(0, 1, []float64{90, -5}, false)
	l.place(0, 2, []float64{80, -1}, false)
	l.place(0, 3, []float64{70, -6}, false) // dominated by 1
	// 4 has the worst accuracy but the fewest params: on the first front.
	place, n, keep := l.place(0, 4, []float64{60, -0.5}, false)
	if n != 4 || keep != 2 {
		t.Fatalf("n %d keep %d", n, keep)
	}
	// Front 1 is {1, 2, 4}: 1 and 4 are extremes (infinite crowding), 2 is not.
	if place != 0 {
		t.Errorf("a non-dominated extreme placed %d; want 0", place)
	}
	if p, _, _ := l.place(0, 3, []float64{70, -6}, false); p != 3 {
		t.Errorf("the dominated point placed %d; want 3 (after the whole first front)", p)
	}
	if p, _, _ := l.place(0, 2, []float64{80, -1}, false); p != 2 {
		t.Errorf("the crowded middle of the front placed %d; want 2", p)
	}
	// By accuracy alone 4 would be last.
	single := ladder{Eta: 2}
	for i, v := range []float64{90, 80, 70} {
		single.place(0, uint64(i+1), []float64{v}, false)
	}
	if p, _, _ := single.place(0, 4, []float64{60}, false); p != 3 {
		t.Errorf("single objective place %d; want 3", p)
	}
}

// By mean rank, a result good under both scores goes before one best under one and
// worst under the other, which non-dominated sorting would put on the first front.
func TestLadderMeanRank(t *testing.T) {
	l := ladder{Eta: 2}
	// (-loss, params): higher is better in both.
	l.place(0, 1, []float64{-0.30, 100}, true) // best loss, fewest params
	l.place(0, 2, []float64{-0.50, 400}, true) // worst loss, most params
	l.place(0, 3, []float64{-0.40, 200}, true)
	// 4 is second under both: mean rank 3 of 4, against 2.5 for each extreme.
	place, n, keep := l.place(0, 4, []float64{-0.35, 300}, true)
	if n != 4 || keep != 2 || place != 0 {
		t.Errorf("second under both: place %d of %d keep %d; want 0 of 4 keep 2", place, n, keep)
	}
	if p, _, _ := l.place(0, 1, []float64{-0.30, 100}, true); p != 1 {
		t.Errorf("best loss, fewest params: place %d; want 1 (tied with 2, behind 4)", p)
	}
	if p, _, _ := l.place(0, 5, []float64{math.NaN(), 50}, true); p != 4 {
		t.Errorf("a NaN loss with the fewest params: place %d; want 4, the last", p)
	}
	pareto := ladder{Eta: 2}
	for i, s := range [][]float64{{-0.30, 100}, {-0.50, 400}, {-0.40, 200}} {
		pareto.place(0, uint64(i+1), s, false)
	}
	if p, _, _ := pareto.place(0, 4, []float64{-0.35, 300}, false); p == 0 {
		t.Error("non-dominated sorting placed the middle of the front first; the test no longer tells the rules apart")
	}
}
