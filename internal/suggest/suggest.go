// Package suggest finds the name a typo was meant to be: "did you mean" for experiment
// keys, commands and flags alike.
package suggest

import "strings"

// Nearest is the name closest to s by edit distance, if it is close enough to be a
// typo (at most a third of its letters, and at least one, differ); "" when none is.
func Nearest(s string, names []string) string {
	best, bestD := "", max(1, len(s)/3)+1
	for _, n := range names {
		if d := EditDistance(strings.ToLower(s), n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// EditDistance is the edit distance between a and b, counting an insertion, a
// deletion, a change or a swap of two neighbouring letters as one edit (the optimal
// string alignment distance): "jsno" is one edit from "json".
func EditDistance(a, b string) int {
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	prev2, prev, cur := rows[0], rows[1], rows[2]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
