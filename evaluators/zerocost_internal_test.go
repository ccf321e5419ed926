package evaluators

import (
	"testing"

	"cellar/engine"
	"cellar/spaces"
)

func TestBeaten(t *testing.T) {
	ref := []float64{1, 2, 2, 3}
	for _, c := range []struct{ v, want float64 }{{0, 0}, {1, 0.125}, {2, 0.5}, {2.5, 0.75}, {9, 1}} {
		if got := beaten(ref, c.v); got != c.want {
			t.Errorf("beaten(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestAnExplicitZeroSeedIsKept(t *testing.T) {
	for src, want := range map[string]uint64{"{name: zerocost, proxies: [params]}": 1, "{name: zerocost, proxies: [params], seed: 0}": 0} {
		cfg, err := engine.ParseConfig([]byte("space: nb201\nstrategy: random\nbudget: {trials: 1}\nevaluator: " + src + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		sp, err := spaces.NewNB201(spaces.DefaultNB201)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := zeroCostFactory(cfg.Evaluator, engine.EvaluatorEnv{Space: sp})
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.(*ZeroCost).opt.Seed; got != want {
			t.Errorf("%s: seed %d, want %d", src, got, want)
		}
	}
}
