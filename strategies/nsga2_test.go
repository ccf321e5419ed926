package strategies

import (
	"math"
	"slices"
	"strings"
	"testing"

	"cellar/pareto"
	"cellar/spaces"
)

// twoGoals trades nor_conv_3x3 edges against none edges, both maximised: the Pareto
// front is the seven cells of only those two ops, (k, 6-k).
func twoGoals(a spaces.Arch) []float64 {
	s := a.String()
	return []float64{float64(strings.Count(s, "nor_conv_3x3")), float64(strings.Count(s, "none"))}
}

// runMO runs a strategy for n trials on twoGoals, one in flight, and returns the
// points found.
func runMO(t *testing.T, s Strategy, n int) [][]float64 {
	t.Helper()
	var pts [][]float64
	for id := uint64(1); id <= uint64(n); id++ {
		cs := s.Ask(1)
		if len(cs) != 1 {
			t.Fatalf("trial %d: asked %d", id, len(cs))
		}
		sc := twoGoals(cs[0].Arch)
		pts = append(pts, sc)
		s.Tell([]Result{{Trial: id, Arch: cs[0].Arch, Score: sc[0], Scores: sc}})
	}
	return pts
}

// NSGA-II covers more of the front than random search with the same trials, and its
// hypervolume reports grow.
func TestNSGA2FindsTheFront(t *testing.T) {
	up := []bool{true, true}
	ref := []float64{-1, -1}
	var hvN, hvR float64
	for seed := uint64(1); seed <= 10; seed++ {
		n, err := NewNSGA2(nb201(t), seed, NSGA2Options{Population: 20, Reference: []float64{-1, -1}})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.SetObjectives(up); err != nil {
			t.Fatal(err)
		}
		front := func(pts [][]float64) [][]float64 {
			var out [][]float64
			for _, i := range pareto.Front(pts, up) {
				if !slices.ContainsFunc(out, func(q []float64) bool { return slices.Equal(q, pts[i]) }) {
					out = append(out, pts[i])
				}
			}
			return out
		}
		fn := front(runMO(t, n, 400))
		fr := front(runMO(t, NewRandom(nb201(t), seed), 400))
		hvN += pareto.Hypervolume(fn, up, ref)
		hvR += pareto.Hypervolume(fr, up, ref)
		reps := n.Reports()
		if len(reps) != 20 || reps[len(reps)-1].Values["hypervolume"] <= reps[0].Values["hypervolume"] {
			t.Errorf("seed %d: %d reports, hypervolume %v then %v", seed, len(reps), reps[0].Values, reps[len(reps)-1].Values)
		}
		for _, r := range reps { // the fraction of the box up to the best of each objective
			if f := r.Values["hv_fraction"]; !(f > 0 && f <= 1) {
				t.Errorf("seed %d generation %d: hv_fraction %v, want in (0, 1]", seed, r.Step, f)
			}
		}
	}
	// The whole front (k, 6-k) has hypervolume 7*7 - 21 = 28 against (-1, -1).
	t.Logf("mean hypervolume: nsga2 %.1f, random %.1f (the front: 28)", hvN/10, hvR/10)
	if hvN <= hvR || hvN/10 < 26 {
		t.Errorf("mean hypervolume: nsga2 %.1f, random %.1f", hvN/10, hvR/10)
	}
}

// Selection keeps whole fronts while they fit, then the least crowded of the next.
func TestNSGA2Selection(t *testing.T) {
	n, _ := NewNSGA2(nb201(t), 1, NSGA2Options{Population: 4})
	arch := nb201(t).Sample(n.rand.rng)
	mk := func(id uint64, a, b float64) scored {
		return scored{Trial: id, Arch: arch.String(), arch: arch, Scores: []float64{a, b}}
	}
	n.pending, n.out = nil, 0
	n.done = []scored{
		mk(1, 0, 10), mk(2, 10, 0), mk(3, 5, 5), // the first front
		mk(4, 0, 9), mk(5, 4, 4), mk(6, 9, 0), mk(7, 1, 4.5), // the second: 4 and 6 are its extremes
		mk(8, -1, -1), {Trial: 9, Arch: arch.String(), arch: arch}, // dominated, failed
	}
	n.nextGeneration()
	var ids []uint64
	for _, p := range n.parents {
		ids = append(ids, p.Trial)
	}
	slices.Sort(ids)
	if !slices.Equal(ids[:3], []uint64{1, 2, 3}) || (ids[3] != 4 && ids[3] != 6) {
		t.Errorf("parents %v: want the first front and an extreme of the second", ids)
	}
	if len(n.pending) != 4 || math.IsNaN(n.Reports()[0].Values["hypervolume"]) {
		t.Errorf("pending %d, report %v", len(n.pending), n.Reports())
	}
}
