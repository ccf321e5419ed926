// Package stats holds the rank statistics that benchmarks and reports share. It is
// pure Go and imports nothing of the project.
package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// Spearman is the rank correlation of x and y: Pearson's correlation of their ranks,
// ties given their average rank. It is NaN when either is constant.
func Spearman(x, y []float64) float64 {
	return stat.Correlation(Ranks(x), Ranks(y), nil)
}

// Kendall is Kendall's tau-b of x and y (as scipy's kendalltau gives it): concordant
// minus discordant pairs, over the geometric mean of the pairs each of x and y orders.
// A pair tied in x counts neither way, so a score that cannot tell two archs apart
// earns nothing for them. (gonum's stat.Kendall, used before, counted a tie as
// concordant or discordant by which came first, so a score with many ties, like
// params, gained from inputs listed in accuracy order.) It is NaN when either is
// constant; x and y must be as long.
func Kendall(x, y []float64) float64 {
	var concordant, discordant, tiedX, tiedY float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
				tiedX++
				tiedY++
			case dx == 0:
				tiedX++
			case dy == 0:
				tiedY++
			case (dx > 0) == (dy > 0):
				concordant++
			default:
				discordant++
			}
		}
	}
	pairs := float64(len(x)) * float64(len(x)-1) / 2
	return (concordant - discordant) / math.Sqrt((pairs-tiedX)*(pairs-tiedY))
}

// Ranks gives each value its rank from 1, ties the average of their ranks.
func Ranks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// TopOverlap is the fraction of y's k largest that are among x's k largest: how many
// of the truly best k a ranking by x would pick (ties broken by position).
func TopOverlap(x, y []float64, k int) float64 {
	k = min(k, len(x), len(y))
	if k == 0 {
		return 0
	}
	top := func(v []float64) map[int]bool {
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] > v[idx[b]] })
		out := map[int]bool{}
		for _, i := range idx[:k] {
			out[i] = true
		}
		return out
	}
	tx, ty := top(x), top(y)
	hits := 0
	for i := range ty {
		if tx[i] {
			hits++
		}
	}
	return float64(hits) / float64(k)
}

// MeanRank is, for each item, the mean of its ranks (Ranks) under each of the
// scores, all of the same length and each higher-is-better: a Borda count, which
// combines scores on different scales (a loss and a parameter count) without
// weights to choose.
func MeanRank(scores ...[]float64) []float64 {
	if len(scores) == 0 {
		return nil
	}
	out := make([]float64, len(scores[0]))
	for _, s := range scores {
		for i, r := range Ranks(s) {
			out[i] += r / float64(len(scores))
		}
	}
	return out
}
