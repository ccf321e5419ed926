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
