package engine

import (
	"context"
	"strings"
	"testing"
)

func TestZeroCostEvaluator(t *testing.T) {
	src := []byte("name: zc\nseed: 2\nspace: {name: nb201, channels: 4, cells: 1, input: [1, 8, 8]}\nstrategy: random\n" +
		"evaluator: {name: zerocost, proxies: [synflow, naswot, snip], data: noise, batch: 8, reference: 10}\nbudget: {trials: 12}\n")
	cfg, err := ParseConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := Build(cfg, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := exp.Evaluator.Metrics(); strings.Join(got, ",") != "zerocost,synflow,naswot,snip,params,flops" {
		t.Errorf("metrics %v", got)
	}
	if o := cfg.Objectives[0]; o.Name != "zerocost" || !o.Maximise() {
		t.Errorf("default objective %+v", o)
	}
	store := &memStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, _ := Build(cfg, src, nil)
	store2 := &memStore{}
	New(again, Options{Store: store2}).Run(context.Background())
	for i, tr := range store.trials {
		z := tr.Metrics["zerocost"]
		if z < 0 || z > 1 || tr.Metrics["params"] <= 0 {
			t.Errorf("trial %d metrics %v", tr.ID, tr.Metrics)
		}
		for k, v := range tr.Metrics {
			if store2.trials[i].Metrics[k] != v {
				t.Errorf("trial %d %s: %v then %v", tr.ID, k, v, store2.trials[i].Metrics[k])
			}
		}
	}
	bad := []byte(strings.Replace(string(src), "naswot", "magic", 1))
	cfg, _ = ParseConfig(bad)
	if _, err := Build(cfg, bad, nil); err == nil || !strings.Contains(err.Error(), `unknown proxy "magic"`) {
		t.Errorf("unknown proxy: %v", err)
	}
}

func TestBeaten(t *testing.T) {
	ref := []float64{1, 2, 2, 3}
	for _, c := range []struct{ v, want float64 }{{0, 0}, {1, 0.125}, {2, 0.5}, {2.5, 0.75}, {9, 1}} {
		if got := beaten(ref, c.v); got != c.want {
			t.Errorf("beaten(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
