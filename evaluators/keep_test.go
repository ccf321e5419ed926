package evaluators

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"cellar/engine"
	"cellar/weights"
)

// The keeper writes the weights of the trials that matter and deletes those that
// stop mattering; a new keeper (a resumed search) reads back what the files hold.
func TestKeeperKeepsWhatMatters(t *testing.T) {
	w := weights.Set{"l1.weight": {Shape: []int{1}, Data: []float32{1}}}
	objs := []engine.Objective{{Name: "acc", Direction: "max"}, {Name: "params", Direction: "min"}}
	files := func(dir string) []uint64 {
		var ids []uint64
		for id := uint64(1); id <= 10; id++ {
			if _, err := os.Stat(WeightsPath(dir, id)); err == nil {
				ids = append(ids, id)
			}
		}
		return ids
	}
	trials := []struct {
		acc, params float64
	}{{50, 100}, {60, 200}, {55, 50}, {60, 300}, {40, 10}, {70, 1000}}
	for _, c := range []struct {
		keep KeepWeights
		objs []engine.Objective
		want []uint64
	}{
		{KeepWeights{"best"}, objs[:1], []uint64{6}},
		{KeepWeights{"best", "front"}, objs[:1], []uint64{6}}, // one objective: no front
		{KeepWeights{"front"}, objs, []uint64{2, 3, 5, 6}},
		{KeepWeights{"best", "front"}, objs, []uint64{2, 3, 5, 6}},
		{KeepWeights{"all"}, objs, []uint64{1, 2, 3, 4, 5, 6}},
		{KeepWeights{"none"}, objs, nil},
	} {
		dir := t.TempDir()
		k := newKeeper(c.keep, c.objs)
		for i, tr := range trials {
			if i == 3 { // a resumed search: a new keeper over the same files
				k = newKeeper(c.keep, c.objs)
			}
			job := engine.Job{Trial: uint64(i + 1), Dir: dir, Measured: map[string]float64{"params": tr.params}}
			if err := k.keep(job, map[string]float64{"acc": tr.acc}, w); err != nil {
				t.Fatal(err)
			}
		}
		if got := files(dir); !slices.Equal(got, c.want) {
			t.Errorf("keep %v by %d objectives: weights of %v, want %v", c.keep, len(c.objs), got, c.want)
		}
	}
	// Without a directory (a search that stores nothing) nothing is written.
	k := newKeeper(KeepWeights{"all"}, objs)
	if err := k.keep(engine.Job{Trial: 1}, map[string]float64{"acc": 1}, w); err != nil || k.kept != nil {
		t.Errorf("kept without a directory: %v", err)
	}
	// A file that is not one of the keeper's is an error, not a silent loss.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "weights"), 0o755)
	weights.WriteFile(WeightsPath(dir, 3), w)
	if err := newKeeper(KeepWeights{"best"}, objs[:1]).keep(engine.Job{Trial: 4, Dir: dir}, map[string]float64{"acc": 1}, w); err == nil {
		t.Error("a weights file without objective values was taken")
	}
}
