package engine

import (
	"context"
	"strings"
	"testing"
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
	exp := buildExp(t, trainExp)
	if exp.Config.Objectives[0].Name != "val_accuracy" || !exp.Config.Objectives[0].Maximise() {
		t.Errorf("default objective %+v; want val_accuracy, max", exp.Config.Objectives[0])
	}
	store := &memStore{}
	e := New(exp, Options{Store: store})
	sub := e.Subscribe()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	progress := 0
	for ev := range sub.C {
		if ev.Kind == TrialProgress {
			progress++
		}
	}
	if progress < 3*3 { // per trial: 2 step reports and an epoch report
		t.Errorf("%d progress events for 3 trials", progress)
	}
	if len(store.trials) != 3 {
		t.Fatalf("%d trials stored", len(store.trials))
	}
	for _, tr := range store.trials {
		if tr.State != Done {
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
	exp := buildExp(t, strings.Replace(trainExp, "progress_every: 5}", "progress_every: 5, lr: 1000000}", 1))
	store := &memStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, tr := range store.trials {
		if tr.State == Failed && strings.Contains(tr.Error, "training diverged") {
			failed++
		}
	}
	if len(store.trials) != 3 || failed == 0 {
		t.Errorf("%d trials, %d failed with divergence", len(store.trials), failed)
	}
}

func TestTrainOptionsChecked(t *testing.T) {
	for _, tc := range []struct{ from, to, say string }{
		{"dataset: mnist", "dataset: imagenet", `unknown dataset "imagenet"`},
		{"epochs: 1", "epochs: -1", "epochs -1"},
		{"subset: 320", "subset: 90000", "training subset 90000"},
		{"batch: 32", "batch: 32, momentum: 1.5", "momentum 1.5"},
		{"batch: 32", "batch: 32, dropout: 0.5", `train has no option "dropout"`},
		{"input: [1, 28, 28]", "input: [3, 32, 32]", ""},
	} {
		src := strings.Replace(trainExp, tc.from, tc.to, 1)
		cfg, err := ParseConfig([]byte(src))
		if err == nil {
			_, err = Build(cfg, []byte(src), nil)
		}
		if tc.say == "" {
			// A space shaped for CIFAR on MNIST builds; each trial then fails saying why.
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
