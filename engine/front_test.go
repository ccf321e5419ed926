package engine_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	. "cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testtable"
	"cellar/pareto"
)

// frontSearch runs NSGA-II on the synthetic table, accuracy against params, for
// trials, with extra lines of YAML; it returns the source, the engine and its store.
func frontSearch(t *testing.T, trials int, extra string) (string, *Engine, *enginetest.MemStore) {
	t.Helper()
	path := testtable.NB201(t, testtable.Smooth)
	src := fmt.Sprintf(`
name: front
seed: 3
space: nb201
strategy: {name: nsga2, population: 10, reference: [0, 2000000]}
evaluator: {name: table, path: %s}
objectives: [{name: test_accuracy, direction: max}, {name: params, direction: min}]
budget: {trials: %d}
%s
`, path, trials, extra)
	store := &enginetest.MemStore{}
	e := New(enginetest.Build(t, src), Options{Store: store})
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	return src, e, store
}

// The engine keeps the experiment's Pareto front over all objectives (params from the
// IR here, with a table evaluator) in its status and in every checkpoint, as the
// definition gives it from the stored trials, and keeps it across a resume.
func TestParetoFrontKept(t *testing.T) {
	src, e, store := frontSearch(t, 60, "")
	// An arch is on the front once: the first trial of it.
	var ids []uint64
	var pts [][]float64
	seen := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(store.Trials)) {
		tr := store.Trials[id]
		if seen[tr.Arch] {
			continue
		}
		seen[tr.Arch] = true
		ids = append(ids, id)
		pts = append(pts, []float64{tr.Metrics["test_accuracy"], tr.Metrics["params"]})
	}
	var want []uint64
	for _, i := range pareto.Front(pts, []bool{true, false}) {
		want = append(want, ids[i])
	}
	slices.Sort(want)
	got := store.Checkpoints[len(store.Checkpoints)-1].Front
	if len(got) == 0 || !slices.Equal(got, want) {
		t.Errorf("checkpoint front %v, by definition %v", got, want)
	}
	if st := e.Snapshot(); !slices.Equal(st.Front, got) {
		t.Errorf("status front %v, checkpoint %v", st.Front, got)
	}
	if st := e.Snapshot(); len(st.Reports) != 6 || st.Reports[5].Source != "nsga2" {
		t.Errorf("reports %v", st.Reports)
	}
	// Resumed from a mid-search checkpoint, the front is rebuilt from the stored trials.
	cp := store.Resumable(len(store.Checkpoints) / 2)
	stored := map[uint64]Trial{}
	for id, tr := range store.Trials {
		if id < cp.NextID {
			stored[id] = tr
		}
	}
	r := New(enginetest.Build(t, src), Options{Store: &enginetest.MemStore{}, Resume: &cp, Stored: stored})
	if err := Restore(r); err != nil {
		t.Fatal(err)
	}
	if got := r.Snapshot().Front; !slices.Equal(got, cp.Front) {
		t.Errorf("resumed front %v, checkpoint's %v", got, cp.Front)
	}
}

// NSGA-II evaluates some archs again (without dedupe); the front lists each once.
func TestFrontListsAnArchOnce(t *testing.T) {
	_, e, store := frontSearch(t, 200, "dedupe: none")
	archs := map[string]int{}
	for _, tr := range store.Trials {
		archs[tr.Arch]++
	}
	again := 0
	for _, n := range archs {
		again += n - 1
	}
	front := e.Snapshot().Front
	onFront := map[string]uint64{}
	for _, id := range front {
		a := store.Trials[id].Arch
		if first, ok := onFront[a]; ok {
			t.Errorf("trials %d and %d on the front are both %s", first, id, a)
		}
		onFront[a] = id
	}
	if again == 0 || len(front) == 0 {
		t.Fatalf("%d trials repeat an arch, front %v: the case shows nothing", again, front)
	}
}
