package engine_test

import (
	"context"
	"strings"
	"testing"

	. "cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
	"cellar/spaces"
	"cellar/strategies"
)

// A compound scaling search trains every candidate on MNIST, those at other input
// resolutions on resampled images, and ends after the last.
func TestCompoundScalingTrains(t *testing.T) {
	src := `
name: scale
seed: 1
space: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28]}
strategy: {name: compound, base: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", target_flops: 4000000, grid: [1, 1.2, 1.4], tolerance: 0.15}
evaluator: {name: train, dataset: mnist, val: 200, subset: 128, test: false, epochs: 1, batch: 32}
budget: {trials: 100}
parallelism: 2
`
	exp := enginetest.Build(t, src)
	store := &enginetest.MemStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.Trials) != 1+5+4 {
		t.Fatalf("%d trials; want the base, 5 grid points and 4 scaled to the target", len(store.Trials))
	}
	inputs := map[int]bool{}
	var archs []string
	for id := uint64(1); id <= uint64(len(store.Trials)); id++ {
		archs = append(archs, store.Trials[id].Arch)
	}
	roles := map[string]int{}
	for _, r := range exp.Strategy.(*strategies.Compound).Roles(archs) {
		roles[r]++
	}
	for _, tr := range store.Trials {
		if tr.State != Done {
			t.Fatalf("trial %d %s: %s %s", tr.ID, tr.Arch, tr.State, tr.Error)
		}
		a, err := exp.Space.Parse([]byte(tr.Arch))
		if err != nil {
			t.Fatal(err)
		}
		x := a.(spaces.ScaledArch)
		net, _ := exp.Space.Network(a)
		inputs[net.Layers[0].Shape.H] = true
		if tr.Metrics["flops"] != float64(net.FLOPs()) {
			t.Errorf("trial %d trained a network of %g FLOPs, its arch has %d", tr.ID, tr.Metrics["flops"], net.FLOPs())
		}
		if x.Phi > 1 && tr.Metrics["flops"] > 4e6 {
			t.Errorf("trial %d (%s) is over the FLOPs target: %g", tr.ID, tr.Arch, tr.Metrics["flops"])
		}
	}
	if roles["base"] != 1 || roles["grid"] != 5 || roles["compound"] != 1 || roles["depth"] != 1 || roles["width"] != 1 || roles["resolution"] != 1 {
		t.Errorf("roles %v", roles)
	}
	if len(inputs) < 2 || !inputs[28] {
		t.Errorf("input sizes %v: the resolution was never scaled", inputs)
	}
}

func TestCompoundConfigErrors(t *testing.T) {
	for _, tc := range []struct{ strategy, say string }{
		{"{name: compound, target_flops: 1e9}", "give the arch to scale as base"},
		{"{name: compound, base: '|nor_conv_3x3~0|', target_flops: 1e9}", "compound: base: nb201 arch"},
		{"{name: compound, base: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', target_flops: 10}", "target_flops 10 must be above"},
		{"{name: compound, base: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', target_flops: 1e9, tolerance: 3}", "tolerance 3"},
	} {
		c, err := ParseConfig([]byte("name: x\nspace: nb201\nstrategy: " + tc.strategy + "\nevaluator: params\nbudget: {trials: 5}\n"))
		if err == nil {
			_, err = Build(c, nil, evaluators.Builtin())
		}
		if err == nil || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s: got %v, want %q", tc.strategy, err, tc.say)
		}
	}
}

// With dedupe by function, compound scaling trains no network twice: scalings that
// round to one network (channels to a multiple of 4, depth up) take the first's result.
func TestCompoundScalingTrainsEachNetworkOnce(t *testing.T) {
	src := `
name: scale
seed: 1
space: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28]}
strategy: {name: compound, base: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", target_flops: 4000000, grid: [1, 1.1, 1.2, 1.3], tolerance: 0.15}
evaluator: params
budget: {trials: 100}
dedupe: function
`
	exp := enginetest.Build(t, src)
	ev := &keyCounter{Evaluator: exp.Evaluator, key: func(a spaces.Arch) string { return spaces.FunctionOf(exp.Space, a) }, calls: map[string]int{}}
	exp.Evaluator = ev
	store := &enginetest.MemStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	dupes := 0
	for _, tr := range store.Trials {
		if tr.Duplicate != 0 {
			dupes++
		}
	}
	for f, n := range ev.calls {
		if n > 1 {
			t.Errorf("the network %s was evaluated %d times", f, n)
		}
	}
	if dupes == 0 {
		t.Errorf("no duplicate among %d trials: the grid's rounding makes none here, and the test shows nothing", len(store.Trials))
	}
}
