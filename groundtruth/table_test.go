package groundtruth

import (
	"math"
	"slices"
	"testing"

	"cellar/evaluators"
	"cellar/spaces"
)

// The committed ground truths (built, and continued, with `cellar bench groundtruth
// --csv groundtruth/testdata/nb201-fashion-mnist.csv --n 150 --epochs 3`, the same with
// -6ep.csv and --epochs 6, and with -30k.csv and --train 30000): the 150 NB201 archs of
// the stratified sample of seed 1, in its order, with the built-in table's accuracy;
// every arch trained so far trained twice, every accuracy a whole number of the 5,000
// held-out examples. The 3-epoch and 30,000-example tables are whole; the 6-epoch one
// was stopped part way (see docs/benchmarks.md).
func TestCommittedTables(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := evaluators.LoadTable("nb201", sp, "")
	if err != nil {
		t.Fatal(err)
	}
	for path, whole := range map[string]bool{"testdata/nb201-fashion-mnist.csv": true, "testdata/nb201-fashion-mnist-6ep.csv": false, "testdata/nb201-fashion-mnist-30k.csv": true} {
		rows, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 150 {
			t.Fatalf("%s: %d archs, want 150", path, len(rows))
		}
		want, err := Stratified(sp, tab, len(rows), 1)
		if err != nil {
			t.Fatal(err)
		}
		trained := 0
		for i, r := range rows {
			if r.Arch != want[i].Arch || r.Reference != want[i].Reference {
				t.Errorf("%s row %d: %s (%v); the sample of seed 1 has %s (%v)", path, i+1, r.Arch, r.Reference, want[i].Arch, want[i].Reference)
			}
			if len(r.Acc) != 2 && len(r.Acc) != 0 { // an arch is written once both seeds are trained
				t.Errorf("%s: %s: %d seeds", path, r.Arch, len(r.Acc))
			}
			if len(r.Acc) > 0 {
				trained++
			}
			for _, a := range r.Acc {
				if math.Abs(a*50-math.Round(a*50)) > 1e-6 { // a whole number of the 5,000 examples
					t.Errorf("%s: %s: accuracy %v is not k/5000", path, r.Arch, a)
				}
			}
		}
		if whole && trained != len(rows) {
			t.Errorf("%s: %d of %d archs trained", path, trained, len(rows))
		}
		if !whole && trained < 2 {
			t.Errorf("%s: %d archs trained", path, trained)
		}
		refs := make([]float64, len(rows))
		for i, r := range rows {
			refs[i] = r.Reference
		}
		if !slices.IsSorted(refs) {
			t.Errorf("%s: the archs are not in the order of their strata", path)
		}
	}
}
