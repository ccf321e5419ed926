package groundtruth

import (
	"math"
	"slices"
	"testing"

	"cellar/evaluators"
	"cellar/spaces"
)

// The committed ground truth (built, and continued, with `cellar bench groundtruth
// --csv groundtruth/testdata/nb201-fashion-mnist.csv --n 150 --epochs 3`): the 150
// NB201 archs of the stratified sample of seed 1, in its order, with the built-in
// table's accuracy; every arch trained so far trained twice (the table is written arch
// by arch, so only archs at its end may lack seeds), every accuracy a whole number of
// the 5,000 held-out examples.
func TestCommittedTable(t *testing.T) {
	rows, err := Load("testdata/nb201-fashion-mnist.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 150 {
		t.Fatalf("%d archs, want 150", len(rows))
	}
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := evaluators.LoadTable("nb201", sp, "")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Stratified(sp, tab, len(rows), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r.Arch != want[i].Arch || r.Reference != want[i].Reference {
			t.Errorf("row %d: %s (%v); the sample of seed 1 has %s (%v)", i+1, r.Arch, r.Reference, want[i].Arch, want[i].Reference)
		}
		if len(r.Acc) != 2 && len(r.Acc) != 0 { // an arch is written once both seeds are trained
			t.Errorf("%s: %d seeds", r.Arch, len(r.Acc))
		}
		if i > 0 && len(r.Acc) > 0 && len(rows[i-1].Acc) == 0 {
			t.Errorf("row %d is trained after an untrained one: the table is trained in order", i+1)
		}
		for _, a := range r.Acc {
			if math.Abs(a*50-math.Round(a*50)) > 1e-6 { // a whole number of the 5,000 examples
				t.Errorf("%s: accuracy %v is not k/5000", r.Arch, a)
			}
		}
	}
	trained := 0
	for _, r := range rows {
		if len(r.Acc) > 0 {
			trained++
		}
	}
	if trained != len(rows) {
		t.Errorf("%d of %d archs trained", trained, len(rows))
	}
	refs := make([]float64, len(rows))
	for i, r := range rows {
		refs[i] = r.Reference
	}
	if !slices.IsSorted(refs) {
		t.Error("the archs are not in the order of their strata")
	}
}
