package groundtruth

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// The committed four-seed table holds three groups of archs that compute the same
// function (found by a separate enumeration in Python): one where only the 0->3 edge
// reaches the output, one where node 2 is cut off, and one where nodes 1 and 2 are
// swapped. In the second, the cut-off nodes hold no parameters, so the two archs drew
// the same initial weights and trained to the same accuracies, seed for seed: the
// training is deterministic. The others differ by the seeds' noise alone.
func TestSameFunction(t *testing.T) {
	rows, err := Load("testdata/nb201-fashion-mnist-30k-4seeds.csv")
	if err != nil {
		t.Fatal(err)
	}
	groups, err := SameFunction(rows)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[int]int{}
	for _, g := range groups {
		sizes[len(g.Rows)]++
		var lo, hi float64 = math.Inf(1), math.Inf(-1)
		for _, i := range g.Rows {
			lo, hi = min(lo, rows[i].Mean()), max(hi, rows[i].Mean())
		}
		if g.Spread != hi-lo {
			t.Errorf("group %v: spread %g, its means span %g", g.Rows, g.Spread, hi-lo)
		}
	}
	if len(groups) != 3 || sizes[3] != 1 || sizes[2] != 2 {
		t.Fatalf("groups %+v: want one of three archs and two of two", groups)
	}
	identical := 0
	for _, g := range groups {
		a, b := rows[g.Rows[0]], rows[g.Rows[1]]
		if slices.Equal(a.Acc, b.Acc) {
			identical++
			t.Logf("%s and %s: the same accuracies, seed for seed: %v", a.Arch, b.Arch, a.Acc)
		}
	}
	if identical != 1 {
		t.Errorf("%d groups trained to the same accuracies seed for seed, want 1", identical)
	}

	// Rows still being built (fewer than two seeds) are left out; a damaged arch is an
	// error naming its row.
	for _, g := range groups {
		if len(g.Rows) == 3 {
			rows[g.Rows[0]].Acc = rows[g.Rows[0]].Acc[:1]
		}
	}
	again, err := SameFunction(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 3 || len(again[0].Rows)+len(again[1].Rows)+len(again[2].Rows) != 6 {
		t.Errorf("a row with one seed was counted: %+v", again)
	}
	rows[5].Arch = "|nor_conv_3x3~0|"
	if _, err := SameFunction(rows); err == nil || !strings.Contains(err.Error(), "row 6") {
		t.Errorf("a damaged arch: %v, want an error naming row 6", err)
	}
}
