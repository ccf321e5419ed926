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
// -6ep.csv and --epochs 6, with -30k.csv and --train 30000, with -55k.csv and --train
// 55000, and -30k-4seeds.csv, a copy of -30k.csv continued with --seeds 4): the 150
// NB201 archs of the stratified sample of seed 1, in its order, with the built-in
// table's accuracy; every arch trained so far trained twice (four times in -4seeds),
// every accuracy a whole number of the 5,000 held-out examples. All but the 6-epoch
// table are whole; that one was stopped part way (see docs/benchmarks.md). The
// four-seed table's seeds 1 and 2 are the 30k table's: a run is one arch and seed,
// whenever it is trained.
func TestCommittedTables(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := evaluators.LoadTable("nb201", sp, "")
	if err != nil {
		t.Fatal(err)
	}
	thirty, err := Load("testdata/nb201-fashion-mnist-30k.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path   string
		whole  bool
		seeds  []int // the seeds an arch may have
		firsts []Row // a table whose seeds 1 and 2 these are
	}{
		{"testdata/nb201-fashion-mnist.csv", true, []int{2}, nil},
		{"testdata/nb201-fashion-mnist-6ep.csv", false, []int{0, 2}, nil},
		{"testdata/nb201-fashion-mnist-30k.csv", true, []int{2}, nil},
		{"testdata/nb201-fashion-mnist-30k-4seeds.csv", true, []int{4}, thirty},
		{"testdata/nb201-fashion-mnist-55k.csv", true, []int{2}, nil},
	} {
		path, whole := c.path, c.whole
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
			if !slices.Contains(c.seeds, len(r.Acc)) { // an arch is written once the seeds it lacked are trained
				t.Errorf("%s: %s: %d seeds, want one of %v", path, r.Arch, len(r.Acc), c.seeds)
			}
			if len(r.Acc) == slices.Max(c.seeds) {
				trained++
			}
			if c.firsts != nil && (len(r.Acc) < 2 || !slices.Equal(r.Acc[:2], c.firsts[i].Acc)) {
				t.Errorf("%s: %s: seeds %v, where its seeds 1 and 2 are %v", path, r.Arch, r.Acc, c.firsts[i].Acc)
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
