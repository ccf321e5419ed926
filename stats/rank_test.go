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
