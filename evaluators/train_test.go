package evaluators_test

import (
	"context"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
)

const trainExp = `
name: train
seed: 3
space: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28]}
strategy: {name: random}
evaluator: {name: train, dataset: mnist, val: 500, subset: 320, test_size: 500, epochs: 1, batch: 32, progress_every: 5}
budget: {trials: 3}
parallelism: 2
`

func TestTrainEvaluatorInASearch(t *testing.T) {
	exp := enginetest.Build(t, trainExp)
	if exp.Config.Objectives[0].Name != "val_accuracy" || !exp.Config.Objectives[0].Maximise() {
		t.Errorf("default objective %+v; want val_accuracy, max", exp.Config.Objectives[0])
	}
	store := &enginetest.MemStore{}
	e := engine.New(exp, engine.Options{Store: store})
	sub := e.Subscribe()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	progress := 0
	for ev := range sub.C {
		if ev.Kind == engine.TrialProgress {
			progress++
		}
	}
	if progress < 3*3 { // per trial: 2 step reports and an epoch report
		t.Errorf("%d progress events for 3 trials", progress)
	}
	if len(store.Trials) != 3 {
		t.Fatalf("%d trials stored", len(store.Trials))
	}
	for _, tr := range store.Trials {
		if tr.State != engine.Done {
			t.Fatalf("trial %d: %s %s", tr.ID, tr.State, tr.Error)
		}
		for _, m := range []string{"val_accuracy", "test_accuracy", "params", "flops", "train_seconds", "train_loss"} {
			if _, ok := tr.Metrics[m]; !ok {
				t.Errorf("trial %d lacks %s: %v", tr.ID, m, tr.Metrics)
			}
		}
		if len(tr.Curve) != 1 || tr.Curve[0].Metrics["val_accuracy"] != tr.Metrics["val_accuracy"] {
			t.Errorf("trial %d curve %+v", tr.ID, tr.Curve)
		}
	}
}

func TestDivergingTrialFailsSearchGoesOn(t *testing.T) {
	exp := enginetest.Build(t, strings.Replace(trainExp, "progress_every: 5}", "progress_every: 5, lr: 1000000}", 1))
	store := &enginetest.MemStore{}
	if err := engine.New(exp, engine.Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, tr := range store.Trials {
		if tr.State == engine.Failed && strings.Contains(tr.Error, "training diverged") {
			failed++
		}
	}
	if len(store.Trials) != 3 || failed == 0 {
		t.Errorf("%d trials, %d failed with divergence", len(store.Trials), failed)
	}
}

func TestTrainOptionsChecked(t *testing.T) {
	for _, tc := range []struct{ from, to, say string }{
		{"dataset: mnist", "dataset: imagenet", `unknown dataset "imagenet"`},
		{"epochs: 1", "epochs: -1", "epochs -1"},
		{"subset: 320", "subset: 90000", "training subset 90000"},
		{"batch: 32", "batch: 32, momentum: 1.5", "momentum 1.5"},
		{"batch: 32", "batch: 32, dropout: 0.5", `evaluator.dropout: unknown key (evaluator train takes: batch`},
		{"input: [1, 28, 28]", "input: [3, 32, 32]", "set the space's input to [1, 28, 28]"},
		{"input: [1, 28, 28]", "input: [1, 28, 28], classes: 100", "set the space's classes to 10"},
		{"input: [1, 28, 28]", "input: [1, 32, 32]", ""},
	} {
		src := strings.Replace(trainExp, tc.from, tc.to, 1)
		cfg, err := engine.ParseConfig([]byte(src))
		if err == nil {
			_, err = engine.Build(cfg, []byte(src), evaluators.Builtin())
		}
		if tc.say == "" {
			// Another height and width builds: the data is resampled to the network's.
			if err != nil {
				t.Errorf("%s: %v", tc.to, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s: %v; want %q", tc.to, err, tc.say)
		}
	}
}

// ASHA over epochs in a real search: each stopped trial stopped where the rule says,
// recomputed from the stored learning curves (one trial at a time, so they reach each
// rung in id order), and is stored as stopped with its epochs.
func TestTrainEarlyStopASHA(t *testing.T) {
	src := strings.Replace(trainExp, "epochs: 1,", "epochs: 3, early_stop: {rule: asha, grace: 1, eta: 2},", 1)
	src = strings.Replace(src, "trials: 3", "trials: 6", 1)
	src = strings.Replace(src, "parallelism: 2", "parallelism: 1", 1)
	src = strings.Replace(src, "subset: 320", "subset: 800, lr: 0.1", 1) // enough to learn: ties at chance decide nothing
	exp := enginetest.Build(t, src)
	store := &enginetest.MemStore{}
	if err := engine.New(exp, engine.Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := evaluators.Ladder{Eta: 2}
	stopped := 0
	for id := uint64(1); id <= 6; id++ {
		tr := store.Trials[id]
		if tr.State != engine.Done {
			t.Fatalf("trial %d: %s %s", id, tr.State, tr.Error)
		}
		wantStop := 0 // the epoch it should stop at, 0 for none
		for rung, epoch := range []int{1, 2} {
			if len(tr.Curve) < epoch {
				break
			}
			place, _, keep := check.Place(rung, id, []float64{tr.Curve[epoch-1].Metrics["val_accuracy"]})
			if place >= keep {
				wantStop = epoch
				break
			}
		}
		switch {
		case wantStop == 0 && (tr.Stop != nil || len(tr.Curve) != 3 || tr.Metrics["epochs"] != 3):
			t.Errorf("trial %d should have trained 3 epochs: stop %+v, %d epochs", id, tr.Stop, len(tr.Curve))
		case wantStop > 0 && (tr.Stop == nil || tr.Stop.Epoch != float64(wantStop) || len(tr.Curve) != wantStop || tr.Metrics["epochs"] != float64(wantStop)):
			t.Errorf("trial %d should have stopped after epoch %d: stop %+v, %d epochs", id, wantStop, tr.Stop, len(tr.Curve))
		case wantStop > 0:
			stopped++
			if _, tested := tr.Metrics["test_accuracy"]; tested || tr.Stop.Rule != "asha" {
				t.Errorf("stopped trial %d: rule %s, metrics %v (no test for a stopped trial)", id, tr.Stop.Rule, tr.Metrics)
			}
		}
	}
	if stopped == 0 {
		t.Error("no trial stopped; with eta 2 about half stop at each rung")
	}
}

// A ladder of a one-shot supernet then a short training: the cascade hands the engine
// the supernet's epochs (reports and all), keeps its state in checkpoints, and
// promotes by the supernet's score into real training.
func TestCascadeOneShotThenTrain(t *testing.T) {
	src := `
name: ladder
seed: 5
space: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28]}
strategy: random
evaluator: {name: cascade, eta: 2, rungs: [
  {name: oneshot, channels: 4, train: 640, val: 128, score_size: 128, epochs: 2, batch: 32, lr: 0.1, recalibrate: 4, seed: 3,
   finetune: 2, rank: [oneshot_loss:min, params], combine: mean_rank},
  {name: train, dataset: mnist, val: 500, subset: 320, test_size: 200, epochs: 1, batch: 32}]}
budget: {trials: 6}
`
	exp := enginetest.Build(t, src)
	store := &enginetest.MemStore{}
	e := engine.New(exp, engine.Options{Store: store})
	sub := e.Subscribe()
	reports := make(chan int, 1)
	go func() {
		n := 0
		for ev := range sub.C {
			if ev.Kind == engine.LearnerReport && ev.Report.Source == "oneshot" {
				n++
			}
		}
		reports <- n
	}()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := <-reports; n != 2 {
		t.Errorf("%d supernet epochs reported; want 2", n)
	}
	promoted := 0
	check := evaluators.Ladder{Eta: 2}
	for id := uint64(1); id <= 6; id++ {
		tr := store.Trials[id]
		m := tr.Rungs[0].Metrics
		if place, _, keep := check.PlaceByMeanRank(0, id, []float64{-m["oneshot_loss"], m["params"]}); (place < keep) != tr.Rungs[0].Promoted {
			t.Errorf("trial %d: promoted %v; the mean rank of its loss and params says %v", id, tr.Rungs[0].Promoted, place < keep)
		}
		if tr.State != engine.Done || tr.Rungs[0].Evaluator != "oneshot" || tr.Rungs[0].Metrics["oneshot_accuracy"] <= 0 {
			t.Fatalf("trial %d: %s %s rungs %+v", id, tr.State, tr.Error, tr.Rungs)
		}
		if s := tr.Rungs[0].Score; s == nil || *s != -tr.Rungs[0].Metrics["oneshot_loss"] {
			t.Errorf("trial %d: rung 0 score %v; want its first rank metric, the loss, negated", id, s)
		}
		if tr.Rungs[0].Promoted {
			promoted++
			if len(tr.Rungs) != 2 || tr.Rungs[1].Evaluator != "train" || len(tr.Curve) != 1 || tr.Metrics["val_accuracy"] != tr.Rungs[1].Metrics["val_accuracy"] {
				t.Errorf("promoted trial %d: rungs %+v, curve %d", id, tr.Rungs, len(tr.Curve))
			}
		}
	}
	if promoted == 0 || promoted == 6 {
		t.Errorf("%d of 6 promoted", promoted)
	}
	// The supernet's weights are written apart from the checkpoint, after each of
	// its epochs, and not again with every trial's commit.
	withWeights := 0
	for _, cp := range store.Checkpoints {
		if cp.Large["evaluator"] != nil {
			withWeights++
		}
	}
	if withWeights != 2 || len(store.Checkpoints) < 8 {
		t.Errorf("weights in %d of %d commits; want 2, one an epoch", withWeights, len(store.Checkpoints))
	}
	// A cascade restored from the checkpoint and the weights needs no more epochs, and
	// holds the trained supernet.
	cp := store.Resumable(len(store.Checkpoints) - 1)
	fresh := enginetest.Build(t, src).Evaluator.(*evaluators.Cascade)
	if !fresh.Learning() {
		t.Fatal("a fresh cascade does not want its supernet trained")
	}
	if err := fresh.RestoreLargeState(cp.Large["evaluator"]); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Restore(cp.Evaluator); err != nil {
		t.Fatal(err)
	}
	if fresh.Learning() {
		t.Error("the restored cascade wants to train its supernet again")
	}
	// It scores an arch as the trained one does (batch norm is re-estimated per arch,
	// so only the trained weights count).
	arch, _ := exp.Space.Parse([]byte(store.Trials[1].Arch))
	score := func(c *evaluators.Cascade) float64 {
		t.Helper()
		out, err := c.Evaluate(context.Background(), engine.Job{Arch: arch}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out.Rungs[0].Metrics["oneshot_accuracy"]
	}
	if got, want := score(fresh), score(exp.Evaluator.(*evaluators.Cascade)); got != want {
		t.Errorf("restored supernet scores %v, the trained one %v", got, want)
	}
}
