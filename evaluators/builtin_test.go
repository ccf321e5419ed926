package evaluators

import (
	"fmt"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/spaces"
)

// build makes the evaluator an experiment's evaluator component gives, with the
// built-in factories.
func build(t *testing.T, evaluator string) (engine.Evaluator, error) {
	t.Helper()
	cfg, err := engine.ParseConfig([]byte("space: nb201\nstrategy: random\nbudget: {trials: 1}\nevaluator: " + evaluator + "\n"))
	if err != nil {
		return nil, err
	}
	sp, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 4, Cells: 1}) // MNIST's shape
	if err != nil {
		t.Fatal(err)
	}
	f, ok := Builtin()[cfg.Evaluator.Name]
	if !ok {
		t.Fatalf("no built-in evaluator %q", cfg.Evaluator.Name)
	}
	return f(cfg.Evaluator, engine.EvaluatorEnv{Space: sp, Factories: Builtin()})
}

// Defaults are filled in before the config is decoded: an explicit zero is kept where
// it means something (no momentum, no weight decay) and is an error where it does
// not; early stopping stays off unless the config has early_stop, whose options left
// out take their defaults.
func TestTrainOptionsKeepExplicitZeros(t *testing.T) {
	opts := func(src string) TrainOptions {
		t.Helper()
		ev, err := build(t, src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		return ev.(*Train).opt
	}
	if o := opts("train"); o.Momentum != DefaultTrain.Momentum || o.WeightDecay != DefaultTrain.WeightDecay || o.EarlyStop != nil || o.Val != DefaultTrain.Val {
		t.Errorf("defaults: %+v", o)
	}
	if o := opts("{name: train, momentum: 0, weight_decay: 0}"); o.Momentum != 0 || o.WeightDecay != 0 || o.LR != DefaultTrain.LR {
		t.Errorf("explicit zeros: momentum %v weight decay %v lr %v", o.Momentum, o.WeightDecay, o.LR)
	}
	if o := opts("{name: train, epochs: 4, early_stop: {rule: asha}}"); o.EarlyStop == nil || *o.EarlyStop != (EarlyStopOptions{Rule: "asha", Grace: 1, Eta: 3, MinTrials: 3}) {
		t.Errorf("early stop with defaults: %+v", o.EarlyStop)
	}
	for src, want := range map[string]string{
		"{name: train, epochs: 4, early_stop: {rule: asha, grace: 0}}": "grace 0",
		"{name: train, epochs: 0}":                                     "epochs 0",
		"{name: train, batch: 0}":                                      "batch 0",
		"{name: train, lr: 0}":                                         "lr 0",
		"{name: train, val: 0}":                                        "validation size 0",
		"{name: oneshot, channels: 0}":                                 "channels 0",
		"{name: oneshot, sampling: greedy}":                            "sampling \"greedy\"",
		"{name: oneshot, few_shot: true, split_at: 1}":                 "split_at 1",
		"{name: oneshot, finetune: -2}":                                "finetune -2",
		"{name: oneshot, finetune: 10, finetune_lr: 0}":                "finetune_lr 0",
		"{name: zerocost, proxies: []}":                                "proxies",
	} {
		if _, err := build(t, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error with %q", src, err, want)
		}
	}
}

// A one-shot rung ranks by its loss, angle and live params together where the
// experiment does not say; one made before the current defaults ranks as it ran (by
// the objective, or the rung's first metric: oneshot_accuracy); a rank given is kept.
func TestOneShotRungDefaultRank(t *testing.T) {
	rungs := "{name: cascade, rungs: [{name: oneshot, dataset: mnist, train: 256, val: 128, score_size: 64, channels: 2, depth: 1, batch: 32, epochs: 1}, {name: params}]}"
	rank := func(src string, defaults int) string {
		t.Helper()
		cfg, err := engine.ParseConfig([]byte(fmt.Sprintf("space: nb201\nstrategy: random\nbudget: {trials: 1}\ndefaults: %d\nevaluator: %s\n", defaults, src)))
		if err != nil {
			t.Fatal(err)
		}
		sp, _ := spaces.NewNB201(spaces.DefaultNB201)
		ev, err := Builtin()["cascade"](cfg.Evaluator, engine.EvaluatorEnv{Space: sp, Factories: Builtin()})
		if err != nil {
			t.Fatal(err)
		}
		r := ev.(*Cascade).rungs[0]
		return fmt.Sprint(r.Rank, " ", r.Combine)
	}
	if got := rank(rungs, engine.CurrentDefaults); got != "[{oneshot_loss min} {oneshot_angle max} {live_params max}] mean_rank" {
		t.Errorf("current defaults: the one-shot rung ranks by %s", got)
	}
	if got := rank(rungs, 0); got != "[{oneshot_accuracy max}] " {
		t.Errorf("defaults 0: the one-shot rung ranks by %s", got)
	}
	given := strings.Replace(rungs, "epochs: 1}", "epochs: 1, rank: [oneshot_loss:min]}", 1)
	if got := rank(given, engine.CurrentDefaults); got != "[{oneshot_loss min}] " {
		t.Errorf("a rank given: %s", got)
	}
}
