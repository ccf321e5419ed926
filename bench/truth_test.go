package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cellar/evaluators"
	"cellar/groundtruth"
	"cellar/spaces"
)

func TestTableTruthIsASeededSampleOfTheTable(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := TableTruth(sp, "nb201", 20, 3)
	if err != nil {
		t.Fatal(err)
	}
	table, err := evaluators.LoadTable("nb201", sp, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, a := range tr.Archs {
		if seen[a.String()] {
			t.Errorf("arch %s sampled twice", a)
		}
		seen[a.String()] = true
		vals, _ := table.Lookup(a)
		net, _ := sp.Network(a)
		if tr.Acc[i] != vals[table.Metrics()[0]] || tr.Params[i] != float64(net.Params()) {
			t.Errorf("arch %s: acc %v params %v; the table says %v, the network has %d", a, tr.Acc[i], tr.Params[i], vals, net.Params())
		}
	}
	again, _ := TableTruth(sp, "nb201", 20, 3)
	other, _ := TableTruth(sp, "nb201", 20, 4)
	if !slices.Equal(again.Acc, tr.Acc) || slices.Equal(other.Acc, tr.Acc) {
		t.Error("the sample is not fixed by its seed alone")
	}
	if _, err := TableTruth(sp, "nb201", 2, 3); err == nil || !strings.Contains(err.Error(), "--n 2") {
		t.Errorf("2 archs: %v, want an error naming --n", err)
	}
}

func TestGroundTruthTakesTheMeanOfItsSeeds(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "groundtruth", "testdata", "nb201-fashion-mnist-30k-4seeds.csv")
	tr, err := GroundTruth(sp, path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := groundtruth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Archs) != len(rows) || tr.Acc[0] != rows[0].Mean() || tr.Params[0] != float64(rows[0].Params) {
		t.Errorf("%d archs, first %v/%v; the file has %d, first %v/%d", len(tr.Archs), tr.Acc[0], tr.Params[0], len(rows), rows[0].Mean(), rows[0].Params)
	}
	live, err := LiveParams(sp, tr.Archs)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range tr.Archs {
		net, _ := sp.Network(a)
		if live[i] > float64(net.Params()) {
			t.Errorf("%s: %v live params, more than its %d", a, live[i], net.Params())
		}
	}
	// Too few archs is refused, naming the file.
	short := filepath.Join(t.TempDir(), "two.csv")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if err := os.WriteFile(short, []byte(strings.Join(lines[:3], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := GroundTruth(sp, short); err == nil || !strings.Contains(err.Error(), short) {
		t.Errorf("two archs: %v, want an error naming %s", err, short)
	}
}
