package cli

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/proxies"
	"cellar/spaces"
	"cellar/strategies"
)

// chain is a toy space, defined in this file only: a stack of 1 to 6 convolutions.
type chain struct{ width int }

type chainArch int

func (a chainArch) String() string { return "depth-" + strconv.Itoa(int(a)) }

func (chain) Name() string                      { return "chain" }
func (chain) Sample(rng *rand.Rand) spaces.Arch { return chainArch(1 + rng.IntN(6)) }
func (c chain) Mutate(a spaces.Arch, rng *rand.Rand) spaces.Arch {
	return c.Neighbours(a)[rng.IntN(len(c.Neighbours(a)))]
}
func (chain) Encode(a spaces.Arch) []float64 { return []float64{float64(a.(chainArch))} }
func (chain) Neighbours(a spaces.Arch) []spaces.Arch {
	var out []spaces.Arch
	for _, n := range []chainArch{a.(chainArch) - 1, a.(chainArch) + 1} {
		if n >= 1 && n <= 6 {
			out = append(out, n)
		}
	}
	return out
}
func (chain) Parse(b []byte) (spaces.Arch, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "depth-"))
	if err != nil || !strings.HasPrefix(string(b), "depth-") || n < 1 || n > 6 {
		return nil, fmt.Errorf("chain arch %q: depth-1 to depth-6", b)
	}
	return chainArch(n), nil
}
func (chain) Validate(a spaces.Arch) error { _, err := chain{}.Parse([]byte(a.String())); return err }
func (c chain) Network(a spaces.Arch) (*spaces.Net, error) {
	b := spaces.NewNetBuilder(spaces.Shape{C: 1, H: 8, W: 8})
	x := 0
	for i := range int(a.(chainArch)) {
		x = b.Add(spaces.Layer{Kind: spaces.Conv, Name: fmt.Sprintf("conv%d", i), Inputs: []int{x}, OutC: c.width, Kernel: 3, Stride: 1, Pad: 1, Dilation: 1, Groups: 1})
		x = b.Add(spaces.Layer{Kind: spaces.ReLU, Name: fmt.Sprintf("relu%d", i), Inputs: []int{x}})
	}
	x = b.Add(spaces.Layer{Kind: spaces.GlobalPool, Name: "pool", Inputs: []int{x}})
	return b.Finish(b.Add(spaces.Layer{Kind: spaces.Linear, Name: "head", Inputs: []int{x}, OutC: 10, Bias: true}))
}

// draw is a toy strategy: every arch drawn from the space, an option deciding how
// many draws it keeps the first of (more draws, no better: a toy).
type draw struct {
	space spaces.Space
	rng   *rand.PCG
	opt   drawOptions
}

type drawOptions struct {
	Draws int `yaml:"draws"`
}

func (d *draw) Name() string { return "draw" }
func (d *draw) Ask(n int) []strategies.Candidate {
	out := make([]strategies.Candidate, n)
	for i := range out {
		r := rand.New(d.rng)
		a := d.space.Sample(r)
		for range d.opt.Draws - 1 {
			d.space.Sample(r)
		}
		out[i] = strategies.Candidate{Arch: a}
	}
	return out
}
func (d *draw) Tell([]strategies.Result)   {}
func (d *draw) State() ([]byte, error)     { return d.rng.MarshalBinary() }
func (d *draw) Restore(state []byte) error { return d.rng.UnmarshalBinary(state) }

// A space, a strategy and a proxy added from this one test file, each by registering
// itself, run a search through the CLI: nothing else in cellar names them.
func TestASpaceStrategyAndProxyFromOneFile(t *testing.T) {
	spaces.Define("chain", "a stack of 1 to 6 convolutions", struct {
		Width int `yaml:"width"`
	}{Width: 2}, func(o struct {
		Width int `yaml:"width"`
	}) (spaces.Space, error) {
		return chain{width: o.Width}, nil
	})
	t.Cleanup(func() { spaces.Unregister("chain") })
	strategies.Define("draw", "archs drawn at random", drawOptions{Draws: 1}, func(o drawOptions, space spaces.Space, seed uint64) (strategies.Strategy, error) {
		if o.Draws < 1 {
			return nil, fmt.Errorf("draws %d: at least 1", o.Draws)
		}
		return &draw{space: space, rng: rand.NewPCG(seed, 1), opt: o}, nil
	})
	t.Cleanup(func() { strategies.Unregister("draw") })
	proxies.Register("convs", "the convolutions (no data)", proxies.Proxy{Score: func(s *proxies.Scoring) (float64, error) {
		n := 0
		for _, l := range s.Net.Layers {
			if l.Kind == spaces.Conv {
				n++
			}
		}
		return float64(n), nil
	}})
	t.Cleanup(func() { proxies.Unregister("convs") })

	exp := writeExp(t, "name: toy\nseed: 3\nspace: {name: chain, width: 3}\nstrategy: {name: draw, draws: 2}\n"+
		"evaluator: {name: zerocost, proxies: [convs], data: noise}\nbudget: {trials: 8}\ndedupe: none\n") // the toy space has fewer archs than the budget
	db := filepath.Join(t.TempDir(), "toy.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := cellar(t, "trials", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Trials []engine.Trial }
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Trials) != 8 {
		t.Fatalf("%v: %d trials\n%s", err, len(got.Trials), out)
	}
	for _, tr := range got.Trials {
		if tr.State != engine.Done || tr.Origin != "draw" || "depth-"+strconv.Itoa(int(tr.Metrics["convs"])) != tr.Arch {
			t.Errorf("trial %d: %s by %s, arch %s with %v convs", tr.ID, tr.State, tr.Origin, tr.Arch, tr.Metrics["convs"])
		}
	}
	// The lists in errors come from the registries, the toys among them.
	for _, tc := range []struct{ src, want string }{
		{"space: chian\nstrategy: draw\nevaluator: params\nbudget: {trials: 2}\n", "chain, "},
		{"space: chain\nstrategy: drwa\nevaluator: params\nbudget: {trials: 2}\n", "draw, "},
		{"space: chain\nstrategy: {name: draw, draws: 0}\nevaluator: params\nbudget: {trials: 2}\n", "draws 0: at least 1"},
		{"space: chain\nstrategy: draw\nevaluator: {name: zerocost, proxies: [conv]}\nbudget: {trials: 2}\n", "convs"},
	} {
		if _, err := cellar(t, "search", "-c", writeExp(t, tc.src), "--db", filepath.Join(t.TempDir(), "x.db"), "--no-progress"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want it to name %q", tc.src, err, tc.want)
		}
	}
}
