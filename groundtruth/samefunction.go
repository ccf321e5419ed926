package groundtruth

import (
	"fmt"
	"slices"

	"cellar/spaces"
)

// SameGroup is two or more archs of a table that compute the same function
// (spaces.NB201Arch.Effective): their strings differ only in edges the output cannot
// see, or in which of nodes 1 and 2 is which. Their accuracies differ only by the
// training's noise, so no ground truth orders them, however many seeds it averages.
type SameGroup struct {
	Rows   []int   // indices into the table, in its order
	Spread float64 // the largest minus the smallest of their mean accuracies, in points
}

// SameFunction finds the groups of rows with at least two seeds (the ones Agree
// measures) whose archs compute the same function, in the order of their first rows.
func SameFunction(rows []Row) ([]SameGroup, error) {
	space, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		return nil, err
	}
	byFunction := map[spaces.NB201Arch][]int{}
	var order []spaces.NB201Arch
	for i, r := range rows {
		if len(r.Acc) < 2 {
			continue
		}
		a, err := space.Parse([]byte(r.Arch))
		if err != nil {
			return nil, fmt.Errorf("groundtruth: row %d: %w", i+1, err)
		}
		e := a.(spaces.NB201Arch).Effective()
		if byFunction[e] == nil {
			order = append(order, e)
		}
		byFunction[e] = append(byFunction[e], i)
	}
	var groups []SameGroup
	for _, e := range order {
		idx := byFunction[e]
		if len(idx) < 2 {
			continue
		}
		means := make([]float64, len(idx))
		for k, i := range idx {
			means[k] = rows[i].Mean()
		}
		groups = append(groups, SameGroup{Rows: idx, Spread: slices.Max(means) - slices.Min(means)})
	}
	return groups, nil
}
