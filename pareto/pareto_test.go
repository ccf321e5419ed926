package pareto

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestDominatesWithMixedDirections(t *testing.T) {
	accParams := []bool{true, false} // accuracy up, params down
	cases := []struct {
		a, b []float64
		want bool
	}{
		{[]float64{90, 100}, []float64{85, 200}, true},  // better in both
		{[]float64{90, 100}, []float64{90, 200}, true},  // equal accuracy, fewer params
		{[]float64{90, 200}, []float64{85, 100}, false}, // a trade-off
		{[]float64{85, 200}, []float64{90, 100}, false}, // worse in both
		{[]float64{90, 100}, []float64{90, 100}, false}, // equal: neither dominates
		{[]float64{math.NaN(), 1}, []float64{0, 2}, false},
		{[]float64{90, 50}, []float64{90, 100}, true},
	}
	for _, c := range cases {
		if got := Dominates(c.a, c.b, accParams); got != c.want {
			t.Errorf("Dominates(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
	// The same points with both minimised: fewer params and lower accuracy win.
	if !Dominates([]float64{85, 100}, []float64{90, 200}, []bool{false, false}) {
		t.Error("minimising both: (85, 100) should dominate (90, 200)")
	}
	if Dominates([]float64{90, 100}, []float64{85, 200}, []bool{false, true}) {
		t.Error("accuracy minimised, params maximised: (90, 100) is worse in both")
	}
}

// Fronts as the definition says: nothing in a front is dominated by anything in it or
// a later one, and everything after the first is dominated by something in the front
// before.
func TestSortMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := []bool{true, false, true}
	for trial := 0; trial < 20; trial++ {
		pts := make([][]float64, 40)
		for i := range pts {
			pts[i] = []float64{float64(rng.IntN(6)), float64(rng.IntN(6)), float64(rng.IntN(6))}
		}
		fronts := Sort(pts, dirs)
		seen := 0
		for k, f := range fronts {
			seen += len(f)
			for _, i := range f {
				for _, g := range fronts[k:] {
					for _, j := range g {
						if Dominates(pts[j], pts[i], dirs) {
							t.Fatalf("front %d: %v is dominated by %v of a front not before it", k, pts[i], pts[j])
						}
					}
				}
				if k > 0 && !slices.ContainsFunc(fronts[k-1], func(j int) bool { return Dominates(pts[j], pts[i], dirs) }) {
					t.Fatalf("front %d: %v is not dominated by front %d", k, pts[i], k-1)
				}
			}
		}
		if seen != len(pts) {
			t.Fatalf("fronts hold %d of %d points", seen, len(pts))
		}
		if !slices.Equal(Front(pts, dirs), fronts[0]) {
			t.Fatalf("Front %v, first front %v", Front(pts, dirs), fronts[0])
		}
	}
}

func TestCrowding(t *testing.T) {
	pts := [][]float64{{0, 4}, {1, 2}, {2, 1}, {4, 0}}
	d := Crowding(pts, []int{0, 1, 2, 3})
	// Extremes are infinite; the middle two: (2-0)/4 + (4-1)/4 and (4-1)/4 + (2-0)/4.
	if !math.IsInf(d[0], 1) || !math.IsInf(d[3], 1) || math.Abs(d[1]-1.25) > 1e-12 || math.Abs(d[2]-1.25) > 1e-12 {
		t.Errorf("crowding %v", d)
	}
}

func TestHypervolume(t *testing.T) {
	// A staircase, minimised, against (4, 4): 1 + 2 + 3.
	pts := [][]float64{{1, 3}, {2, 2}, {3, 1}}
	if hv := Hypervolume(pts, []bool{false, false}, []float64{4, 4}); hv != 6 {
		t.Errorf("2-D hypervolume %v, want 6", hv)
	}
	// The same set as maximised (negated), and a point beyond the reference adding nothing.
	neg := [][]float64{{-1, -3}, {-2, -2}, {-3, -1}, {-5, 0}}
	if hv := Hypervolume(neg, []bool{true, true}, []float64{-4, -4}); hv != 6 {
		t.Errorf("maximised hypervolume %v, want 6", hv)
	}
	// 3-D against counting the unit cells a point set on a grid dominates.
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20; trial++ {
		var pts [][]float64
		for range 1 + rng.IntN(8) {
			pts = append(pts, []float64{float64(rng.IntN(5)), float64(rng.IntN(5)), float64(rng.IntN(5))})
		}
		cells := 0
		for x := 0; x < 5; x++ {
			for y := 0; y < 5; y++ {
				for z := 0; z < 5; z++ {
					if slices.ContainsFunc(pts, func(p []float64) bool { return p[0] <= float64(x) && p[1] <= float64(y) && p[2] <= float64(z) }) {
						cells++
					}
				}
			}
		}
		if hv := Hypervolume(pts, []bool{false, false, false}, []float64{5, 5, 5}); hv != float64(cells) {
			t.Fatalf("3-D hypervolume of %v: %v, want %d", pts, hv, cells)
		}
	}
}
