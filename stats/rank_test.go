package stats

import (
	"math"
	"testing"
)

func TestSpearman(t *testing.T) {
	if r := Spearman([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}); r != 1 {
		t.Errorf("monotone: %v", r)
	}
	if r := Spearman([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); r != -1 {
		t.Errorf("reversed: %v", r)
	}
	// Ties share their average rank: ranks (1.5, 1.5, 3) against (1, 2, 3).
	if r, want := Spearman([]float64{5, 5, 7}, []float64{1, 2, 3}), math.Sqrt(3)/2; math.Abs(r-want) > 1e-12 {
		t.Errorf("ties: %v, want %v", r, want)
	}
}

func TestKendall(t *testing.T) {
	if r := Kendall([]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}); r != 1 {
		t.Errorf("monotone: %v", r)
	}
	if r := Kendall([]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}); r != -1 {
		t.Errorf("reversed: %v", r)
	}
	// One discordant pair of six: (5 - 1) / 6.
	if r, want := Kendall([]float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}), 4.0/6; math.Abs(r-want) > 1e-12 {
		t.Errorf("one swap: %v, want %v", r, want)
	}
	// Tau-b, as scipy.stats.kendalltau([5, 5, 7], [1, 2, 3]) gives it: the tied pair
	// counts neither way, 2 / sqrt(2 * 3).
	if r, want := Kendall([]float64{5, 5, 7}, []float64{1, 2, 3}), 2/math.Sqrt(6); math.Abs(r-want) > 1e-12 {
		t.Errorf("ties: %v, want %v", r, want)
	}
	if r := Kendall([]float64{1, 1, 1}, []float64{1, 2, 3}); !math.IsNaN(r) {
		t.Errorf("constant x: %v, want NaN", r)
	}
}

// A score that ties gets the same tau whatever order the archs are listed in. gonum's
// stat.Kendall, used before, did not: it counted a tie as concordant when the later
// item was the better, so a tied score (params) over a table in accuracy order gained.
func TestKendallTiesIndependentOfOrder(t *testing.T) {
	score := []float64{1, 1, 1, 2, 2, 2, 3, 3}
	truth := []float64{1, 2, 3, 4, 5, 6, 7, 8} // in order: each tie's later item is better
	want := Kendall(score, truth)
	rev := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[len(v)-1-i] = x
		}
		return out
	}
	if got := Kendall(rev(score), rev(truth)); math.Abs(got-want) > 1e-12 {
		t.Errorf("reversed order: %v, in order %v", got, want)
	}
	// 21 pairs of 28 ordered by the score, all concordant; 7 tied in it.
	if w := 21 / math.Sqrt(21*28); math.Abs(want-w) > 1e-12 {
		t.Errorf("tau-b %v, want %v", want, w)
	}
}

func TestTopOverlap(t *testing.T) {
	y := []float64{1, 2, 3, 4, 5, 6}
	for _, c := range []struct {
		x    []float64
		k    int
		want float64
	}{
		{[]float64{1, 2, 3, 4, 5, 6}, 2, 1},
		{[]float64{6, 5, 4, 3, 2, 1}, 2, 0},
		{[]float64{0, 0, 0, 9, 0, 8}, 3, 2.0 / 3}, // 4 and 6 picked, 5 missed
		{[]float64{1, 2}, 10, 1},                  // k beyond the length
	} {
		if got := TopOverlap(c.x, y[:len(c.x)], c.k); got != c.want {
			t.Errorf("TopOverlap(%v, k=%d) = %v, want %v", c.x, c.k, got, c.want)
		}
	}
}

func TestMeanRank(t *testing.T) {
	// Scales far apart (a loss-like score and a size) count the same: only the order
	// within each matters.
	a := []float64{0.1, 0.3, 0.2, 0.4}
	b := []float64{4e6, 1e6, 3e6, 2e6}
	got := MeanRank(a, b)
	want := []float64{2.5, 2, 2.5, 3} // ranks a: 1 3 2 4; b: 4 1 3 2
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("MeanRank = %v, want %v", got, want)
		}
	}
	if one := MeanRank(a); Kendall(one, a) != 1 {
		t.Errorf("one score: %v, want its own ranks", one)
	}
}
