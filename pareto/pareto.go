// Package pareto compares points of several objectives, each maximised or minimised:
// dominance, non-dominated sorting and crowding distance (NSGA-II, Deb et al. 2002),
// and the hypervolume a set of points dominates. It is pure Go and imports nothing of
// the project.
package pareto

import (
	"math"
	"sort"
)

// Dominates says whether a dominates b: a is no worse than b in every objective and
// better in at least one, where maximise[i] says which way objective i is better.
// Points with a NaN in them dominate nothing and are dominated by nothing.
func Dominates(a, b []float64, maximise []bool) bool {
	better := false
	for i := range a {
		x, y := a[i], b[i]
		if math.IsNaN(x) || math.IsNaN(y) {
			return false
		}
		if !maximise[i] {
			x, y = -x, -y
		}
		if x < y {
			return false
		}
		if x > y {
			better = true
		}
	}
	return better
}

// Sort is non-dominated sorting: the indexes of points in fronts, the first front
// being those no point dominates, the next those only the first dominates, and so on.
// Within a front indexes are ascending.
func Sort(points [][]float64, maximise []bool) [][]int {
	n := len(points)
	dominatedBy := make([]int, n) // how many points dominate i
	dominates := make([][]int, n) // the points i dominates
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			switch {
			case Dominates(points[i], points[j], maximise):
				dominates[i] = append(dominates[i], j)
				dominatedBy[j]++
			case Dominates(points[j], points[i], maximise):
				dominates[j] = append(dominates[j], i)
				dominatedBy[i]++
			}
		}
	}
	var fronts [][]int
	var cur []int
	for i := 0; i < n; i++ {
		if dominatedBy[i] == 0 {
			cur = append(cur, i)
		}
	}
	for len(cur) > 0 {
		fronts = append(fronts, cur)
		var next []int
		for _, i := range cur {
			for _, j := range dominates[i] {
				if dominatedBy[j]--; dominatedBy[j] == 0 {
					next = append(next, j)
				}
			}
		}
		sort.Ints(next)
		cur = next
	}
	return fronts
}

// Front is the indexes of the non-dominated points, ascending.
func Front(points [][]float64, maximise []bool) []int {
	var out []int
	for i, p := range points {
		dominated := false
		for j, q := range points {
			if j != i && Dominates(q, p, maximise) {
				dominated = true
				break
			}
		}
		if !dominated && !hasNaN(p) {
			out = append(out, i)
		}
	}
	return out
}

func hasNaN(p []float64) bool {
	for _, v := range p {
		if math.IsNaN(v) {
			return true
		}
	}
	return false
}

// Crowding is the crowding distance of each member of a front (indexes into points):
// per objective, the gap between its two neighbours in that objective, normalised by
// the objective's range over the front and summed; the extremes of each objective
// get +Inf so that they are kept.
func Crowding(points [][]float64, front []int) []float64 {
	dist := make([]float64, len(front))
	if len(front) == 0 {
		return dist
	}
	order := make([]int, len(front))
	for m := range points[front[0]] {
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return points[front[order[a]]][m] < points[front[order[b]]][m] })
		lo, hi := points[front[order[0]]][m], points[front[order[len(order)-1]]][m]
		dist[order[0]], dist[order[len(order)-1]] = math.Inf(1), math.Inf(1)
		if hi == lo {
			continue
		}
		for k := 1; k < len(order)-1; k++ {
			dist[order[k]] += (points[front[order[k+1]]][m] - points[front[order[k-1]]][m]) / (hi - lo)
		}
	}
	return dist
}

// Hypervolume is the measure of the region that the points dominate and that
// dominates the reference point ref (worse than every point of interest in every
// objective). Points that do not dominate ref add nothing.
func Hypervolume(points [][]float64, maximise []bool, ref []float64) float64 {
	// Minimisation form, relative to the reference: every coordinate in [0, ref).
	var pts [][]float64
	for _, p := range points {
		q := make([]float64, len(p))
		ok := !hasNaN(p)
		for i, v := range p {
			if maximise[i] {
				q[i] = ref[i] - v // distance below ref... as a cost: smaller is better
			} else {
				q[i] = v - ref[i]
			}
			ok = ok && q[i] < 0
		}
		if ok {
			pts = append(pts, q)
		}
	}
	return hso(pts, len(ref))
}

// hso is the hypervolume of points (all coordinates negative, minimised) against the
// origin in the first d dimensions, by slicing along the last one.
func hso(pts [][]float64, d int) float64 {
	if len(pts) == 0 {
		return 0
	}
	if d == 1 {
		best := 0.0
		for _, p := range pts {
			best = math.Min(best, p[0])
		}
		return -best
	}
	sorted := append([][]float64(nil), pts...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a][d-1] < sorted[b][d-1] })
	var vol float64
	for i := range sorted {
		top := 0.0 // the slice runs from this point's value up to the next's (or the origin)
		if i+1 < len(sorted) {
			top = sorted[i+1][d-1]
		}
		if depth := top - sorted[i][d-1]; depth > 0 {
			vol += depth * hso(sorted[:i+1], d-1)
		}
	}
	return vol
}
