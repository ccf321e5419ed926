package evaluators_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
	"cellar/internal/testtable"
	"cellar/spaces"
)

// A cascade stores every rung a trial reached, and promotes exactly as the rule says:
// with one trial at a time, trials reach rung 0 in id order, so the decisions can be
// recomputed from the stored trials alone.
func TestCascadeStoresEveryRungAndPromotesByRank(t *testing.T) {
	exp := enginetest.Cascade(t, "random", 60, 1, "")
	store := &enginetest.MemStore{}
	if err := engine.New(exp, engine.Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := evaluators.Ladder{Eta: 3}
	promoted := 0
	for id := uint64(1); id <= 60; id++ {
		tr := store.Trials[id]
		if tr.State != engine.Done || len(tr.Rungs) == 0 || tr.Rungs[0].Evaluator != "params" {
			t.Fatalf("trial %d: %s %s, rungs %+v", id, tr.State, tr.Error, tr.Rungs)
		}
		if s := tr.Rungs[0].Score; s == nil || *s != tr.Rungs[0].Metrics["params"] {
			t.Errorf("trial %d: rung 0 score %v; want its params", id, s)
		}
		place, _, keep := check.Place(0, id, []float64{tr.Rungs[0].Metrics["params"]})
		if want := place < keep; want != tr.Rungs[0].Promoted {
			t.Errorf("trial %d: promoted %v; the rule says %v", id, tr.Rungs[0].Promoted, want)
		}
		if tr.Rungs[0].Promoted {
			promoted++
			if len(tr.Rungs) != 2 || tr.Stop != nil || tr.Rungs[1].Metrics["test_accuracy"] == 0 || tr.Metrics["test_accuracy"] != tr.Rungs[1].Metrics["test_accuracy"] || *tr.Rungs[1].Score != tr.Metrics["test_accuracy"] {
				t.Errorf("promoted trial %d: stop %+v rungs %+v", id, tr.Stop, tr.Rungs)
			}
		} else if len(tr.Rungs) != 1 || tr.Stop == nil || tr.Stop.Rule != "cascade" || tr.Stop.Rung != 0 || !strings.Contains(tr.Stop.Reason, "rung 0 (params)") {
			t.Errorf("stopped trial %d: stop %+v rungs %d", id, tr.Stop, len(tr.Rungs))
		}
	}
	if promoted < 10 || promoted > 40 {
		t.Errorf("%d of 60 promoted; a third is ~20", promoted)
	}
}

// The best trial and the budget's final count are judged on full evaluations only.
func TestCascadeBestAndFinalBudget(t *testing.T) {
	path := testtable.NB201(t, testtable.Smooth)
	exp := enginetest.Build(t, fmt.Sprintf(`
name: cascade
seed: 5
space: {name: nb201}
strategy: {name: regevo, population: 10, sample: 3}
evaluator: {name: cascade, rungs: [{name: params}, {name: table, path: %s}]}
budget: {final: 25}
`, path))
	if exp.Config.Objectives[0].Name != "test_accuracy" {
		t.Fatalf("default objective %+v; want the last rung's first metric", exp.Config.Objectives[0])
	}
	store := &enginetest.MemStore{}
	e := engine.New(exp, engine.Options{Store: store})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := e.Snapshot()
	full := 0
	for _, tr := range store.Trials {
		if tr.Full() {
			full++
		}
	}
	if full != 25 || st.Full != 25 || st.Stopped != len(store.Trials)-25 || st.Stopped == 0 {
		t.Errorf("full %d (status %d), stopped %d of %d trials", full, st.Full, st.Stopped, len(store.Trials))
	}
	if st.Best == nil || st.Best.Stop != nil || len(st.Best.Rungs) != 2 {
		t.Errorf("best %+v", st.Best)
	}
}

func TestCascadeConfigErrors(t *testing.T) {
	path := testtable.NB201(t, testtable.Smooth)
	for _, c := range []struct{ evaluator, want string }{
		{`{name: cascade, rungs: [{name: table, path: ` + path + `}]}`, "at least two rungs"},
		{`{name: cascade, eta: 1, rungs: [{name: params}, {name: table, path: ` + path + `}]}`, "eta 1"},
		{`{name: cascade, rungs: [{name: sorcery}, {name: table, path: ` + path + `}]}`, `rungs[0]: unknown evaluator "sorcery"`},
		{`{name: cascade, rungs: [{name: params, rank: [accuracy]}, {name: table, path: ` + path + `}]}`, "ranks by accuracy, which it does not give"},
		{`{name: cascade, rungs: [{name: params, rank: [params:up]}, {name: table, path: ` + path + `}]}`, `rank: "params:up"`},
		{`{name: cascade, rungs: [{name: params, depth: 3}, {name: table, path: ` + path + `}]}`, `params.depth: unknown key (params takes no options)`},
		{`{name: cascade, rungs: [{name: flops, rank: [flops, params], combine: borda}, {name: table, path: ` + path + `}]}`, `combine: "borda"; give pareto or mean_rank`},
		{`{name: cascade, rungs: [{name: flops, rank: [flops], combine: mean_rank}, {name: table, path: ` + path + `}]}`, `rungs[0] (flops): combine: mean_rank needs`},
		{`{name: cascade, rungs: [{name: params}, {name: table, path: ` + path + `, combine: mean_rank}]}`, `rungs[1] (table): combine: mean_rank needs a rung before the last`},
	} {
		cfg, err := engine.ParseConfig([]byte("space: nb201\nstrategy: random\nbudget: {trials: 5}\nevaluator: " + c.evaluator))
		if err == nil {
			_, err = engine.Build(cfg, nil, evaluators.Builtin())
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error with %q", c.evaluator, err, c.want)
		}
	}
}

// With two rank metrics, a rung ranks by non-dominated sorting, not by one metric.
func TestCascadeMultiObjectiveRank(t *testing.T) {
	path := testtable.NB201(t, testtable.Smooth)
	exp := enginetest.Build(t, fmt.Sprintf(`
space: nb201
strategy: random
seed: 2
evaluator: {name: cascade, rungs: [{name: flops, rank: [flops, params:min]}, {name: table, path: %s}]}
objectives: [{name: test_accuracy}, {name: params, direction: min}]
budget: {trials: 40}
`, path))
	if got := fmt.Sprint(evaluators.RungRank(exp.Evaluator.(*evaluators.Cascade), 0)); got != "[{flops max} {params min}]" {
		t.Fatalf("rank %s", got)
	}
	store := &enginetest.MemStore{}
	if err := engine.New(exp, engine.Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := evaluators.Ladder{Eta: 3}
	for id := uint64(1); id <= 40; id++ {
		tr := store.Trials[id]
		m := tr.Rungs[0].Metrics
		place, _, keep := check.Place(0, id, []float64{m["flops"], -m["params"]})
		if (place < keep) != tr.Rungs[0].Promoted {
			t.Errorf("trial %d promoted %v; non-dominated sorting says %v", id, tr.Rungs[0].Promoted, place < keep)
		}
	}
}

// With combine: mean_rank, a rung ranks by the mean of its metrics' ranks, not by
// non-dominated sorting; and the two rules promote differently here.
func TestCascadeMeanRank(t *testing.T) {
	path := testtable.NB201(t, testtable.Smooth)
	run := func(combine string) map[uint64]engine.Trial {
		exp := enginetest.Build(t, fmt.Sprintf(`
space: nb201
strategy: random
seed: 2
evaluator: {name: cascade, rungs: [{name: flops, rank: [flops, params:min]%s}, {name: table, path: %s}]}
budget: {trials: 40}
`, combine, path))
		store := &enginetest.MemStore{}
		if err := engine.New(exp, engine.Options{Store: store}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return store.Trials
	}
	byMean, byFronts := run(", combine: mean_rank"), run("")
	check := evaluators.Ladder{Eta: 3}
	differ := false
	for id := uint64(1); id <= 40; id++ {
		tr := byMean[id]
		m := tr.Rungs[0].Metrics
		place, _, keep := check.PlaceByMeanRank(0, id, []float64{m["flops"], -m["params"]})
		if (place < keep) != tr.Rungs[0].Promoted {
			t.Errorf("trial %d promoted %v; the mean rank says %v", id, tr.Rungs[0].Promoted, place < keep)
		}
		differ = differ || tr.Rungs[0].Promoted != byFronts[id].Rungs[0].Promoted
		// The rung keeps the values it ranked by, for the correlations to rank as it did.
		if r := tr.Rungs[0].Ranks; len(r) != 2 || r[0] != m["flops"] || r[1] != -m["params"] || byFronts[id].Rungs[0].Ranks != nil {
			t.Errorf("trial %d: ranks %v by mean rank, %v by fronts", id, r, byFronts[id].Rungs[0].Ranks)
		}
	}
	if !differ {
		t.Error("mean rank and non-dominated sorting promoted the same trials; the test does not tell them apart")
	}
}

// A trial made by hand climbs every rung of a cascade, even one the cheap rung ranks
// last; the same arch asked by a strategy stops there.
func TestCascadeTakesHandTrialsUpEveryRung(t *testing.T) {
	exp := enginetest.Cascade(t, "random", 10, 1, "")
	parse := func(s string) spaces.Arch {
		a, err := exp.Space.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	big := parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
	small := parse("|none~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|none~2|")
	ctx := context.Background()
	for id := uint64(1); id <= 6; id++ {
		if _, err := exp.Evaluator.Evaluate(ctx, engine.Job{Trial: id, Arch: big}, func(engine.Progress) {}); err != nil {
			t.Fatal(err)
		}
	}
	asked, err := exp.Evaluator.Evaluate(ctx, engine.Job{Trial: 7, Arch: small}, func(engine.Progress) {})
	if err != nil || asked.Stop == nil || len(asked.Rungs) != 1 {
		t.Fatalf("a strategy's trial ranked last: stop %+v, %d rungs, %v", asked.Stop, len(asked.Rungs), err)
	}
	hand, err := exp.Evaluator.Evaluate(ctx, engine.Job{Trial: 8, Arch: small, Hand: true}, func(engine.Progress) {})
	if err != nil || hand.Stop != nil || len(hand.Rungs) != 2 || !hand.Rungs[0].Promoted || hand.Metrics["test_accuracy"] == 0 {
		t.Fatalf("a hand trial: stop %+v, rungs %+v, %v", hand.Stop, hand.Rungs, err)
	}
}
