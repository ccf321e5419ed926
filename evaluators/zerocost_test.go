package evaluators_test

import (
	"context"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
)

func TestZeroCostEvaluator(t *testing.T) {
	src := []byte("name: zc\nseed: 2\nspace: {name: nb201, channels: 4, cells: 1, input: [1, 8, 8]}\nstrategy: random\n" +
		"evaluator: {name: zerocost, proxies: [synflow, naswot, snip], data: noise, batch: 8, reference: 10}\nbudget: {trials: 12}\n")
	cfg, err := engine.ParseConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := engine.Build(cfg, src, evaluators.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.Evaluator.Metrics(); strings.Join(got, ",") != "zerocost,synflow,naswot,snip,params,flops" {
		t.Errorf("metrics %v", got)
	}
	if o := cfg.Objectives[0]; o.Name != "zerocost" || !o.Maximise() {
		t.Errorf("default objective %+v", o)
	}
	store := &enginetest.MemStore{}
	if err := engine.New(exp, engine.Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, _ := engine.Build(cfg, src, evaluators.Builtin())
	store2 := &enginetest.MemStore{}
	engine.New(again, engine.Options{Store: store2}).Run(context.Background())
	for i, tr := range store.Trials {
		z := tr.Metrics["zerocost"]
		if z < 0 || z > 1 || tr.Metrics["params"] <= 0 {
			t.Errorf("trial %d metrics %v", tr.ID, tr.Metrics)
		}
		for k, v := range tr.Metrics {
			if store2.Trials[i].Metrics[k] != v {
				t.Errorf("trial %d %s: %v then %v", tr.ID, k, v, store2.Trials[i].Metrics[k])
			}
		}
	}
	bad := []byte(strings.Replace(string(src), "naswot", "magic", 1))
	cfg, _ = engine.ParseConfig(bad)
	if _, err := engine.Build(cfg, bad, evaluators.Builtin()); err == nil || !strings.Contains(err.Error(), `unknown proxy "magic"`) {
		t.Errorf("unknown proxy: %v", err)
	}
}
