package bench

import (
	"context"
	"testing"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/testtable"
	"cellar/spaces"
)

func tableBench(t *testing.T, score func(spaces.NB201Arch) float64, runs, budget int) []Row {
	t.Helper()
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	table, err := evaluators.LoadTable(testtable.NB201(t, score), sp, "")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Run(context.Background(), Config{Table: table, Space: sp, Metric: "test_accuracy", Maximise: true,
		Strategies: []engine.Component{engine.NewComponent("random")}, Runs: runs, Budget: budget, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// hit@B counts the runs whose best is the table's optimum by each checkpoint; q50 is
// the median queries to it, 0 when fewer than half the runs got there.
func TestHitsAndMedianQueries(t *testing.T) {
	// A fifth of the cells share the optimum: every run of 50 random queries finds it.
	rows := tableBench(t, func(a spaces.NB201Arch) float64 {
		if a[0] == 3 {
			return 1
		}
		return 0
	}, 6, 50)
	last := rows[len(rows)-1]
	if last.Hits != 6 || last.Q50 < 1 || last.Q50 > 20 {
		t.Errorf("a fifth optimal: %d/6 hits, q50 %d", last.Hits, last.Q50)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Hits < rows[i-1].Hits || rows[i].Q50 != last.Q50 {
			t.Errorf("rows %+v then %+v: hits fell, or q50 differs within a strategy", rows[i-1], rows[i])
		}
	}
	// One cell in 15,625 is optimal: 20 random queries almost never find it.
	rows = tableBench(t, func(a spaces.NB201Arch) float64 { return float64(a.Index()) }, 4, 20)
	if last := rows[len(rows)-1]; last.Hits != 0 || last.Q50 != 0 {
		t.Errorf("one optimal cell: %d/4 hits, q50 %d", last.Hits, last.Q50)
	}
}

func TestMedianQueries(t *testing.T) {
	for _, c := range []struct {
		at   []int
		want int
	}{{[]int{5, 0, 7}, 7}, {[]int{5, 0, 0}, 0}, {[]int{3, 4}, 3}, {[]int{0}, 0}, {[]int{9, 2, 4, 0}, 4}} {
		runs := make([]result, len(c.at))
		for i, q := range c.at {
			runs[i].optimum = q
		}
		if got := medianQueries(runs); got != c.want {
			t.Errorf("reached at %v: q50 %d, want %d", c.at, got, c.want)
		}
	}
}
