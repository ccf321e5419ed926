package engine_test

import (
	"strings"
	"testing"
	"time"

	. "cellar/engine"
	"cellar/evaluators"
	"cellar/internal/testtable"
	"cellar/spaces"
	"cellar/strategies"
)

const goodConfig = `
name: ok
seed: 5
space: {name: cell, nodes: 3, layers: 6, channels: 8, classes: 10, input: [1, 28, 28]}
strategy: {name: regevo, population: 10, sample: 3}
evaluator: {name: params}
objectives:
  - {name: params, direction: min}
budget: {trials: 10, time: 2m}
parallelism: 2
`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Seed != 5 || c.Budget.Time != 2*time.Minute || c.Parallelism != 2 || c.Objectives[0].Maximise() {
		t.Fatalf("parsed %+v", c)
	}
	exp, err := Build(c, []byte(goodConfig), evaluators.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	// The space options reached the space: 3-node cells on 1x28x28 input.
	a := exp.Space.Sample(newTestRand())
	if n := strings.Count(a.String(), "+"); n != 4 {
		t.Errorf("arch %s: want 3 nodes per cell", a)
	}
	net, err := exp.Space.Network(a)
	if err != nil || net.Layers[0].Shape != (spaces.Shape{C: 1, H: 28, W: 28}) {
		t.Errorf("network input %v, %v", net.Layers[0].Shape, err)
	}
	// Marshal and parse again: the same config.
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := ParseConfig(out)
	if err != nil {
		t.Fatalf("re-parse %s: %v", out, err)
	}
	out2, _ := c2.Marshal()
	if string(out) != string(out2) {
		t.Errorf("marshal is not stable:\n%s\n%s", out, out2)
	}
}

func TestJSONConfig(t *testing.T) {
	src := `{"name": "j", "space": {"name": "nb201"}, "strategy": "random", "evaluator": {"name": "flops"}, "budget": {"trials": 3}}`
	c, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := Build(c, []byte(src), evaluators.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	if exp.Config.Objectives[0].Name != "params" || exp.Config.Objectives[0].Maximise() {
		t.Errorf("default objective %+v; want params, min", exp.Config.Objectives[0])
	}
}

func TestBadConfigs(t *testing.T) {
	table := testtable.Write(t, "arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10\n")
	for _, tc := range []struct{ name, src, say string }{
		{"empty", "", "empty"},
		{"unknown top key", "name: x\nbudjet: {trials: 1}\n", "line 2: budjet: unknown key; did you mean budget?"},
		{"wrong type", strings.Replace(goodConfig, "seed: 5", "seed: five", 1), "line 3"},
		{"unknown space option", strings.Replace(goodConfig, "nodes: 3", "knots: 3", 1), "line 4: space.knots: unknown key (space cell takes: channels, classes, input, layers, nodes)"},
		{"wrong option type", strings.Replace(goodConfig, "nodes: 3", "nodes: many", 1), "space.nodes: many is not a whole number"},
		{"unknown strategy option", strings.Replace(goodConfig, "sample: 3", "tournament: 3", 1), "strategy.tournament: unknown key (strategy regevo takes: mutations, population, sample, warm_start)"},
		{"option of a strategy that takes none", strings.Replace(goodConfig, "{name: regevo, population: 10, sample: 3}", "{name: random, population: 3}", 1), "strategy.population: unknown key (strategy random takes no options)"},
		{"unknown space", strings.Replace(goodConfig, "name: cell,", "name: cells,", 1), `unknown space "cells"`},
		{"unknown strategy", strings.Replace(goodConfig, "name: regevo,", "name: regevolution,", 1), `unknown strategy "regevolution"`},
		{"unknown evaluator", strings.Replace(goodConfig, "{name: params}", "{name: train2}", 1), `unknown evaluator "train2"`},
		{"bad direction", strings.Replace(goodConfig, "direction: min", "direction: down", 1), `direction "down"`},
		{"objective not given", strings.Replace(goodConfig, "{name: params, direction: min}", "{name: accuracy}", 1), `gives no metric "accuracy"`},
		{"no budget", strings.Replace(goodConfig, "budget: {trials: 10, time: 2m}", "", 1), "budget: give trials"},
		{"negative budget", strings.Replace(goodConfig, "trials: 10", "trials: -1", 1), "must not be negative"},
		{"bad duration", strings.Replace(goodConfig, "time: 2m", "time: soon", 1), "soon"},
		{"no space", strings.Replace(goodConfig, "space: {name: cell, nodes: 3, layers: 6, channels: 8, classes: 10, input: [1, 28, 28]}", "", 1), "space: missing"},
		{"parallelism", strings.Replace(goodConfig, "parallelism: 2", "parallelism: -2", 1), "parallelism"},
		{"bad space value", strings.Replace(goodConfig, "nodes: 3", "nodes: 0", 1), "nodes 0 must be from 1 to 16"},
		{"bad strategy value", strings.Replace(goodConfig, "sample: 3", "sample: 30", 1), "need 1 <= sample <= population"},
		{"two documents", goodConfig + "\n---\nname: y\n", "more than one"},
		{"table without path", strings.Replace(goodConfig, "{name: params}", "{name: table}", 1), "missing path"},
		{"table objective", strings.Replace(strings.Replace(strings.Replace(goodConfig, "{name: params}", "{name: table, path: "+table+"}", 1), "name: cell, nodes: 3, layers: 6, channels: 8, classes: 10, input: [1, 28, 28]", "name: nb201", 1), "{name: params, direction: min}", "{name: latency, direction: min}", 1), "objectives[0]: latency is estimated from this machine's latency table, and none was loaded: run `cellar latency build"},
		{"latency limit without a table", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {latency: 20}", 1), "constraints: latency is estimated from this machine's latency table"},
		{"no limits", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {mode: reject}", 1), "constraints: give at least one of params, flops, latency"},
		{"negative limit", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {flops: -1}", 1), "constraints: limits must not be negative"},
		{"bad mode", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {flops: 1e6, mode: drop}", 1), `constraints: mode "drop"; use reject or penalise`},
		{"bad penalty", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {flops: 1e6, penalty: 20}", 1), "constraints: penalty 20"},
		// An explicit value is kept or refused, never replaced by the default.
		{"zero penalty", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {flops: 1e6, penalty: 0}", 1), "constraints: penalty 0; the exponent must be above 0"},
		{"zero ack wait", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nexecution: {nats: {url: nats://x:4222, ack_wait: 0s}}", 1), "execution.nats: ack_wait 0s; at least 1s"},
		{"zero deliveries", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nexecution: {nats: {max_deliver: 0}}", 1), "execution.nats: max_deliver 0; at least 1"},
		{"unknown constraint", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {memory: 1e6}", 1), "constraints.memory: unknown key"},
		{"impossible limit", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2\nconstraints: {params: 10}", 1), "constraints: none of 1000 archs sampled from cell meets params ≤ 10 (least seen"},
		{"listed twice", strings.Replace(goodConfig, "  - {name: params, direction: min}", "  - {name: params}\n  - {name: params}", 1), "listed twice"},
		{"fractional trials", strings.Replace(goodConfig, "trials: 10", "trials: 1.5", 1), "budget.trials: 1.5 is not a whole number"},
		{"fractional parallelism", strings.Replace(goodConfig, "parallelism: 2", "parallelism: 2.9", 1), "parallelism: 2.9 is not a whole number"},
		{"fractional population", strings.Replace(goodConfig, "population: 10", "population: 30.7", 1), "strategy.population: 30.7 is not a whole number"},
		{"fractional space option", strings.Replace(goodConfig, "nodes: 3", "nodes: 3.0", 1), "space.nodes: 3.0 is not a whole number"},
		{"fractional list entry", strings.Replace(goodConfig, "input: [1, 28, 28]", "input: [1, 28.5, 28]", 1), "space.input[1]: 28.5 is not a whole number"},
		{"nested unknown key", strings.Replace(goodConfig, "{name: regevo, population: 10, sample: 3}", "{name: regevo, population: 10, sample: 3, warm_start: {proxi: synflow}}", 1), "strategy.warm_start.proxi: unknown key; did you mean proxy? (strategy.warm_start takes: proxy, sample)"},
		{"unknown key in a list", strings.Replace(goodConfig, "direction: min", "directon: min", 1), "objectives[0].directon: unknown key; did you mean direction?"},
		{"fractional seed", strings.Replace(goodConfig, "seed: 5", "seed: 5e3", 1), "seed: 5e3 is not a whole number"},
	} {
		c, err := ParseConfig([]byte(tc.src))
		if err == nil {
			_, err = Build(c, []byte(tc.src), evaluators.Builtin())
		}
		if err == nil || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s: error %v; want it to say %q", tc.name, err, tc.say)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add(goodConfig)
	f.Add(`{"name": "j", "space": {"name": "nb201"}, "strategy": "random", "evaluator": {"name": "flops"}, "budget": {"trials": 3}}`)
	f.Add("space: [1, 2]\n")
	f.Add("space: {name: cell, nodes: {a: 1}}\nstrategy: random\nevaluator: params\nbudget: {trials: 1}\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := ParseConfig([]byte(src))
		if err != nil {
			return
		}
		if c.Parallelism < 1 || (c.Budget.Trials == 0 && c.Budget.Time == 0) {
			t.Fatalf("accepted %q with parallelism %d, budget %+v", src, c.Parallelism, c.Budget)
		}
		// Building never panics, whatever the options.
		if exp, err := Build(c, []byte(src), evaluators.Builtin()); err == nil && exp.Strategy == nil {
			t.Fatal("built without a strategy")
		}
	})
}

func TestAnExplicitZeroIsKept(t *testing.T) {
	knob := func(src, name string) float64 {
		t.Helper()
		cfg, err := ParseConfig([]byte("space: nb201\nevaluator: params\nbudget: {trials: 1}\nstrategy: " + src + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := BuildStrategy(cfg.Strategy, nb201Space(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range s.(strategies.Steerable).Knobs() {
			if k.Name == name {
				return k.Value
			}
		}
		t.Fatalf("%s has no knob %s", src, name)
		return 0
	}
	for _, tc := range []struct {
		src, knob string
		want      float64
	}{
		{"reinforce", "entropy", strategies.DefaultReinforce.Entropy},
		{"{name: reinforce, entropy: 0}", "entropy", 0},
		{"predictor", "beta", strategies.DefaultPredictor.Beta},
		{"{name: predictor, beta: 0}", "beta", 0},
	} {
		if got := knob(tc.src, tc.knob); got != tc.want {
			t.Errorf("%s: %s %v, want %v", tc.src, tc.knob, got, tc.want)
		}
	}
}

// An explicit zero is never replaced by a default: where zero is not a valid setting
// it is an error naming the option; an optional part left out stays off, and given
// as {} takes its defaults.
func TestAnExplicitZeroIsCheckedNotReplaced(t *testing.T) {
	build := func(src string) (strategies.Strategy, error) {
		cfg, err := ParseConfig([]byte("space: nb201\nevaluator: params\nbudget: {trials: 1}\nstrategy: " + src + "\n"))
		if err != nil {
			return nil, err
		}
		return BuildStrategy(cfg.Strategy, nb201Space(t), 1)
	}
	for src, want := range map[string]string{
		"{name: predictor, k: 0}":                               "k 0",
		"{name: predictor, epochs: 0}":                          "epochs 0",
		"{name: predictor, lr: 0}":                              "lr 0",
		"{name: regevo, mutations: 0}":                          "mutations 0",
		"{name: evolution, mutations: 0}":                       "mutations 0",
		"{name: reinforce, hidden: 0}":                          "hidden 0",
		"{name: reinforce, lr: 0}":                              "lr 0",
		"{name: nsga2, population: 0}":                          "population 0",
		"{name: regevo, warm_start: {sample: 0}}":               "sample 0",
		"{name: darts, channels: 0, epochs: 1, train: 64}":      "channels 0",
		"{name: darts, dirichlet: true, dirichlet_kl: -1}":      "dirichlet_kl must not be negative",
		"{name: predictor, zero_cost: [params], candidates: 0}": "candidates 0",
	} {
		if _, err := build(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want an error with %q", src, err, want)
		}
	}
	for src, want := range map[string]*strategies.WarmStart{
		"regevo":                         nil,
		"{name: regevo, warm_start: {}}": &strategies.DefaultWarmStart,
		"{name: regevo, warm_start: {proxy: params}}":                  {Proxy: "params", Sample: strategies.DefaultWarmStart.Sample},
		"{name: regevo, warm_start: {proxy: live_params, sample: 50}}": {Proxy: "live_params", Sample: 50},
		"{name: regevo, warm_start: null}":                             nil,
	} {
		s, err := build(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got := s.(*strategies.RegEvo).Options().WarmStart
		if (got == nil) != (want == nil) || (got != nil && *got != *want) {
			t.Errorf("%s: warm start %+v, want %+v", src, got, want)
		}
	}
}

func nb201Space(t *testing.T) spaces.Space {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// Relative paths of an experiment are made absolute from its file's folder, at any
// level; a source without any comes back byte for byte.
func TestResolvePaths(t *testing.T) {
	src := []byte("space: nb201 # the benchmark's\nstrategy: random\nevaluator: {name: cascade, rungs: [{name: zerocost}, {name: table, path: t.csv}]}\nbudget: {trials: 1}\n")
	got, err := ResolvePaths(src, "/data/exp")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "path: /data/exp/t.csv") || !strings.Contains(string(got), "# the benchmark's") {
		t.Errorf("resolved:\n%s", got)
	}
	cmd := []byte("space: nb201\nstrategy: random\nevaluator: {name: command, run: [./train.sh, --data, mnist], workdir: ..}\nbudget: {trials: 1}\n")
	got, _ = ResolvePaths(cmd, "/data/exp")
	if !strings.Contains(string(got), "/data/exp/train.sh") || !strings.Contains(string(got), "workdir: /data") || !strings.Contains(string(got), "--data, mnist") {
		t.Errorf("resolved:\n%s", got)
	}
	named := []byte("space: nb201\nstrategy: random\nevaluator: {name: cascade, rungs: [{name: table, path: nb201}, {name: table, path: nb201.csv}]}\nbudget: {trials: 1}\n")
	got, _ = ResolvePaths(named, "/data/exp", "nb201")
	if !strings.Contains(string(got), "path: nb201}") || !strings.Contains(string(got), "path: /data/exp/nb201.csv") {
		t.Errorf("a built-in name must stay a name, a file beside it a path:\n%s", got)
	}
	plain := []byte("space: nb201\nstrategy: random\nevaluator: {name: table, path: /abs/t.csv}\nbudget: {trials: 1}\n")
	if got, _ := ResolvePaths(plain, "/data/exp"); string(got) != string(plain) {
		t.Errorf("an experiment with no relative path changed:\n%s", got)
	}
}
