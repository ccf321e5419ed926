// Package contract_test proves the evaluator contract from outside the engine: an
// evaluator written as a user would write one, with only what engine exports.
package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/storage"
)

// drifting is a user's evaluator: its score is the arch's hash, noise drawn from the
// trial's seed, and a drift that grows with every evaluation it has made, a state it
// keeps in checkpoints. It reports progress in two steps.
type drifting struct {
	mu    sync.Mutex
	count int
}

func (d *drifting) Metrics() []string { return []string{"score"} }

func (d *drifting) Evaluate(ctx context.Context, job engine.Job, progress func(engine.Progress)) (engine.Outcome, error) {
	if job.Trial == 0 || job.Seed == 0 || job.Experiment == 0 {
		return engine.Outcome{}, fmt.Errorf("job without its trial, seed or experiment: %+v", job)
	}
	h := fnv.New64a()
	h.Write([]byte(job.Arch.String()))
	rng := rand.New(rand.NewPCG(job.Seed, 0))
	for step := 1; step <= 2; step++ {
		if progress != nil {
			progress(engine.Progress{Epoch: float64(step), Message: "half way", Metrics: map[string]float64{"step": float64(step)}})
		}
	}
	d.mu.Lock()
	d.count++
	drift := float64(d.count) * 0.001
	d.mu.Unlock()
	return engine.Outcome{Metrics: map[string]float64{"score": float64(h.Sum64()%1000) + rng.Float64() + drift}}, nil
}

func (d *drifting) State() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return json.Marshal(d.count)
}

func (d *drifting) Restore(b []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return json.Unmarshal(b, &d.count)
}

var (
	_ engine.Evaluator = (*drifting)(nil)
	_ engine.Stateful  = (*drifting)(nil)
)

const source = "name: contract\nseed: 5\nspace: nb201\nstrategy: {name: regevo, population: 10, sample: 3}\nevaluator: drifting\nobjectives: [{name: score}]\nbudget: {trials: 60}\n"

func build(t *testing.T) (*engine.Experiment, *drifting) {
	t.Helper()
	cfg, err := engine.ParseConfig([]byte(source))
	if err != nil {
		t.Fatal(err)
	}
	d := &drifting{}
	evals := evaluators.Builtin()
	evals["drifting"] = func(c engine.Component, _ engine.EvaluatorEnv) (engine.Evaluator, error) {
		return d, c.Decode(&struct{}{})
	}
	exp, err := engine.Build(cfg, []byte(source), evals)
	if err != nil {
		t.Fatal(err)
	}
	return exp, d
}

// search runs the experiment into a new DB; stopAfter > 0 stops it once that many
// trials are stored.
func search(t *testing.T, path string, stopAfter int) (*storage.Experiment, *storage.DB, *drifting, int) {
	t.Helper()
	db, err := storage.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, err := db.CreateExperiment("contract", []byte(source))
	if err != nil {
		t.Fatal(err)
	}
	exp, d := build(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := 0
	eng := engine.New(exp, engine.Options{Store: x, Experiment: x.ID, Observe: func(engine.Trial) {
		if seen++; stopAfter > 0 && seen == stopAfter {
			cancel()
		}
	}})
	sub := eng.Subscribe()
	progress := make(chan int, 1)
	go func() {
		n := 0
		for ev := range sub.C {
			if ev.Kind == engine.TrialProgress && ev.Progress.Message == "half way" {
				n++
			}
		}
		progress <- n
	}()
	if err := eng.Run(ctx); err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	return x, db, d, <-progress
}

func TestAUsersEvaluatorResumesExactly(t *testing.T) {
	dir := t.TempDir()
	refX, refDB, refEval, reports := search(t, filepath.Join(dir, "ref.db"), 0)
	defer refDB.Close()
	if reports == 0 {
		t.Fatal("the evaluator's progress never reached a subscriber")
	}
	want, _ := refX.Trials()
	if len(want) != 60 {
		t.Fatalf("%d trials", len(want))
	}

	// Stopped after 25 trials, then resumed in a new engine with a new evaluator.
	x, db, _, _ := search(t, filepath.Join(dir, "cut.db"), 25)
	cp, err := x.Checkpoint()
	if err != nil || cp == nil || cp.Finished {
		t.Fatalf("checkpoint %+v, %v", cp, err)
	}
	stored, _ := x.Trials()
	opt := engine.Options{Store: x, Experiment: x.ID, Resume: cp, Stored: map[uint64]engine.Trial{}}
	for _, tr := range stored {
		opt.Stored[tr.ID] = tr
	}
	exp, resumed := build(t)
	if err := engine.New(exp, opt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := x.Trials()
	db.Close()
	if len(got) != len(want) {
		t.Fatalf("%d trials after the resume, %d uninterrupted", len(got), len(want))
	}
	for i := range want {
		if got[i].Arch != want[i].Arch || got[i].Metrics["score"] != want[i].Metrics["score"] {
			t.Fatalf("trial %d: resumed %s %v, uninterrupted %s %v", i+1, got[i].Arch, got[i].Metrics, want[i].Arch, want[i].Metrics)
		}
	}
	if resumed.count != refEval.count {
		t.Fatalf("the evaluator's state: %d evaluations after the resume, %d uninterrupted", resumed.count, refEval.count)
	}
}
