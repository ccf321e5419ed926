package strategies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"cellar/internal/testkit"
	"cellar/proxies"
	"cellar/spaces"
)

func nb201(t testing.TB) *spaces.NB201 {
	s, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// toyScore rewards nor_conv_3x3 edges and punishes none: the all-3x3 cell is the
// unique optimum (score 6).
func toyScore(a spaces.Arch) float64 {
	s := a.String()
	return float64(strings.Count(s, "nor_conv_3x3")) - 0.5*float64(strings.Count(s, "none"))
}

func build(t testing.TB, name string, seed uint64) Strategy {
	sp := nb201(t)
	switch name {
	case "random":
		return NewRandom(sp, seed)
	case "regevo":
		s, err := NewRegEvo(sp, seed, RegEvoOptions{Population: 10, Sample: 3, Mutations: 1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "evolution":
		s, err := NewEvolution(sp, seed, EvolutionOptions{Population: 8, Tournament: 3, Elite: 1, Mutations: 1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "local":
		return NewLocal(sp, seed, LocalOptions{})
	case "local-first":
		return NewLocal(sp, seed, LocalOptions{FirstImprovement: true})
	case "regevo-warm": // params ranks fastest; synflow is the default
		s, err := NewRegEvo(sp, seed, RegEvoOptions{Population: 10, Sample: 3, Mutations: 1, WarmStart: &WarmStart{Proxy: "params", Sample: 50}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "reinforce":
		s, err := NewReinforce(sp, seed, ReinforceOptions{Hidden: 16, LearnRate: 0.02, Entropy: DefaultReinforce.Entropy, BaselineDecay: DefaultReinforce.BaselineDecay})
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "nsga2":
		s, err := NewNSGA2(sp, seed, NSGA2Options{Population: 8})
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "predictor": // small, so that the tests' hundreds of rounds stay quick
		s, err := NewPredictor(sp, seed, predictorWith(func(o *PredictorOptions) { o.Candidates, o.K, o.Ensemble, o.Epochs, o.Hidden = 30, 5, 2, 15, []int{16} }))
		if err != nil {
			t.Fatal(err)
		}
		return s
	case "predictor-legacy": // the options of experiments made before the current defaults
		o := LegacyPredictor
		o.Candidates, o.K, o.Ensemble, o.Epochs, o.Hidden = 30, 5, 2, 15, []int{16}
		s, err := NewPredictor(sp, seed, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Fatalf("unknown strategy %s", name)
	return nil
}

var all = []string{"random", "regevo", "regevo-warm", "evolution", "local", "local-first", "predictor", "predictor-legacy", "reinforce", "nsga2"}

// driver runs a strategy the way the engine does with `parallel` trials in flight:
// results are told in trial order, and a trial is asked for whenever one is told. Trial
// t fails when fail(t) is true.
type driver struct {
	s        Strategy
	parallel int
	next     uint64
	inflight []Result
	log      []string
	best     float64
	fail     func(uint64) bool
}

func newDriver(s Strategy, parallel int) *driver {
	return &driver{s: s, parallel: parallel, next: 1, best: math.Inf(-1), fail: func(uint64) bool { return false }}
}

// step tells the oldest in-flight trial (if any) and asks to refill; it returns false
// when the strategy has nothing to ask and nothing is in flight.
func (d *driver) step() bool {
	if len(d.inflight) > 0 {
		r := d.inflight[0]
		d.inflight = d.inflight[1:]
		d.s.Tell([]Result{r})
	}
	for _, c := range d.s.Ask(d.parallel - len(d.inflight)) {
		r := Result{Trial: d.next, Arch: c.Arch, Score: toyScore(c.Arch), Failed: d.fail(d.next)}
		if !r.Failed {
			d.best = math.Max(d.best, r.Score)
		}
		d.log = append(d.log, c.Arch.String())
		d.inflight = append(d.inflight, r)
		d.next++
	}
	return len(d.inflight) > 0
}

func (d *driver) run(trials int) {
	for len(d.log) < trials && d.step() {
	}
}

// strategyRun is one case of a sweep over strategies and parallelism.
type strategyRun struct {
	name     string
	parallel int
}

func (c strategyRun) String() string { return fmt.Sprintf("%s/parallel-%d", c.name, c.parallel) }

// strategyRuns is every strategy at each of the parallelisms.
func strategyRuns(parallel ...int) []strategyRun {
	var cases []strategyRun
	for _, name := range all {
		for _, p := range parallel {
			cases = append(cases, strategyRun{name, p})
		}
	}
	return cases
}

// TestDeterministic: under -short, every strategy at the highest parallelism (the
// case where order matters); the full suite runs each parallelism too.
func TestDeterministic(t *testing.T) {
	testkit.Sweep(t, strategyRuns(4, 1), func(c strategyRun) bool { return c.parallel == 4 }, func(t *testing.T, c strategyRun) {
		a, b := newDriver(build(t, c.name, 42), c.parallel), newDriver(build(t, c.name, 42), c.parallel)
		a.run(150)
		b.run(150)
		if strings.Join(a.log, "\n") != strings.Join(b.log, "\n") {
			t.Errorf("two runs with one seed differ")
		}
		d := newDriver(build(t, c.name, 43), c.parallel)
		d.run(150)
		if strings.Join(a.log, "\n") == strings.Join(d.log, "\n") {
			t.Errorf("seeds 42 and 43 gave the same trials")
		}
	})
}

// TestSnapshotResumesExactly stops a search mid-way, restores a fresh strategy from the
// snapshot and checks it asks exactly what the uninterrupted one asks.
func TestSnapshotResumesExactly(t *testing.T) {
	// Every strategy keeps its own state, so -short still runs each one, at one
	// parallelism and one cut; the full suite runs every cut at both.
	testkit.Sweep(t, strategyRuns(3, 1), func(c strategyRun) bool { return c.parallel == 3 }, func(t *testing.T, c strategyRun) {
		ref := newDriver(build(t, c.name, 7), c.parallel)
		ref.run(200)
		cuts := []int{37, 5, 90}
		if testing.Short() {
			cuts = cuts[:1]
		}
		for _, cut := range cuts {
			d := newDriver(build(t, c.name, 7), c.parallel)
			d.run(cut)
			state, err := d.s.State()
			if err != nil {
				t.Fatal(err)
			}
			fresh := build(t, c.name, 999) // a different seed: everything must come from the snapshot
			if err := fresh.Restore(state); err != nil {
				t.Fatalf("restore: %v", err)
			}
			d.s = fresh
			d.run(200)
			if got, want := strings.Join(d.log, "\n"), strings.Join(ref.log, "\n"); got != want {
				t.Errorf("cut %d: resumed search diverges", cut)
			}
		}
	})
}

func TestRestoreRejectsGarbage(t *testing.T) {
	for _, name := range all {
		s := build(t, name, 1)
		if err := s.Restore([]byte("{not json")); err == nil {
			t.Errorf("%s accepted a corrupt snapshot", name)
		}
	}
	s := build(t, "regevo", 1)
	if err := s.Restore([]byte(`{"rng":"","population":[{"arch":"|bad~0|","score":1}]}`)); err == nil || !strings.Contains(err.Error(), "member 0") {
		t.Errorf("regevo snapshot with a bad arch: %v", err)
	}
}

// TestSearchersBeatRandom: on the toy objective every guided strategy finds the
// optimum within 300 trials in most seeds, and does better than random on average.
// Under -short it runs regevo alone; the full suite runs every guided strategy.
func TestSearchersBeatRandom(t *testing.T) {
	mean := func(name string) (float64, int) {
		sum, hits := 0.0, 0
		for seed := uint64(0); seed < 20; seed++ {
			d := newDriver(build(t, name, seed), 2)
			d.run(300)
			sum += d.best
			if d.best == 6 {
				hits++
			}
		}
		return sum / 20, hits
	}
	rnd, _ := mean("random")
	testkit.Sweep(t, []string{"regevo", "evolution", "local", "local-first", "predictor", "reinforce", "nsga2"}, nil, func(t *testing.T, name string) {
		if m, hits := mean(name); m <= rnd || hits < 12 {
			t.Errorf("mean best %.2f (random %.2f), optimum found in %d/20 runs", m, rnd, hits)
		}
	})
}

func TestRegEvoAgesOutOldest(t *testing.T) {
	s, _ := NewRegEvo(nb201(t), 1, RegEvoOptions{Population: 5, Sample: 2, Mutations: 1})
	d := newDriver(s, 1)
	d.run(12)
	d.step() // tell the 12th
	pop := s.Population()
	if len(pop) != 5 {
		t.Fatalf("population %d, want 5", len(pop))
	}
	for i, m := range pop {
		if m.Trial != uint64(8+i) {
			t.Fatalf("member %d is trial %d; want the 5 newest (8..12)", i, m.Trial)
		}
	}
}

func TestFailedTrialsNeverParents(t *testing.T) {
	for _, name := range []string{"regevo", "evolution", "local"} {
		s := build(t, name, 3)
		d := newDriver(s, 2)
		failed := map[uint64]bool{}
		d.fail = func(id uint64) bool {
			if id%3 == 0 {
				failed[id] = true
				return true
			}
			return false
		}
		var parents []uint64
		for i := 0; i < 100; i++ {
			if len(d.inflight) > 0 {
				d.s.Tell(d.inflight[:1])
				d.inflight = d.inflight[1:]
			}
			for _, c := range d.s.Ask(2 - len(d.inflight)) {
				parents = append(parents, c.Parent)
				r := Result{Trial: d.next, Arch: c.Arch, Score: toyScore(c.Arch), Failed: d.fail(d.next)}
				d.inflight = append(d.inflight, r)
				d.next++
			}
		}
		for _, p := range parents {
			if failed[p] {
				t.Errorf("%s: failed trial %d became a parent", name, p)
			}
		}
	}
}

func TestEvolutionKeepsElite(t *testing.T) {
	s, _ := NewEvolution(nb201(t), 5, EvolutionOptions{Population: 6, Tournament: 2, Elite: 2, Mutations: 1})
	d := newDriver(s, 6)
	d.run(6)
	for len(d.inflight) > 0 {
		d.s.Tell(d.inflight[:1])
		d.inflight = d.inflight[1:]
	}
	if s.Generation() != 1 {
		t.Fatalf("generation %d after 6 results, want 1", s.Generation())
	}
	elite := s.Population()
	if len(elite) != 2 {
		t.Fatalf("%d members carried over, want 2", len(elite))
	}
	// The carried members are the two best of generation 0.
	var scores []float64
	for _, a := range d.log {
		p, _ := nb201(t).Parse([]byte(a))
		scores = append(scores, toyScore(p))
	}
	best := math.Inf(-1)
	for _, sc := range scores {
		best = math.Max(best, sc)
	}
	if elite[0].Score != best {
		t.Errorf("elite %v, best of generation 0 scored %v", elite[0].Score, best)
	}
	// The next generation asks only Population - Elite new members.
	if n := len(s.Ask(10)); n != 4 {
		t.Errorf("generation 1 asked %d, want 4", n)
	}
}

func TestOptionsChecked(t *testing.T) {
	sp := nb201(t)
	if _, err := NewRegEvo(sp, 1, RegEvoOptions{Population: 3, Sample: 5, Mutations: 1}); err == nil {
		t.Error("regevo sample > population accepted")
	}
	if _, err := NewEvolution(sp, 1, EvolutionOptions{Population: 4, Tournament: 2, Elite: 4, Mutations: 1}); err == nil {
		t.Error("evolution elite == population accepted")
	}
}

// A warm start's first Population candidates are the proxy's best of its sample, best
// first; a proxy that needs data is refused.
func TestWarmStartTakesTheProxysBest(t *testing.T) {
	sp := nb201(t)
	s, err := NewRegEvo(sp, 5, RegEvoOptions{Population: 10, Sample: 3, Mutations: 1, WarmStart: &WarmStart{Proxy: "params", Sample: 200}})
	if err != nil {
		t.Fatal(err)
	}
	first := s.Ask(10)
	params := func(a spaces.Arch) int {
		net, err := sp.Network(a)
		if err != nil {
			t.Fatal(err)
		}
		return net.Params()
	}
	for i := 1; i < len(first); i++ {
		if params(first[i].Arch) > params(first[i-1].Arch) {
			t.Fatalf("warm candidates not best first at %d", i)
		}
	}
	// Against random archs: the warm ones are in the top of the distribution.
	r := NewRandom(sp, 9)
	var above int
	for _, c := range r.Ask(200) {
		if params(c.Arch) > params(first[len(first)-1].Arch) {
			above++
		}
	}
	if above > 30 {
		t.Errorf("%d of 200 random archs have more params than the 10th warm pick", above)
	}
	if _, err := NewRegEvo(sp, 1, RegEvoOptions{Population: 10, Sample: 3, Mutations: 1, WarmStart: &WarmStart{Proxy: "snip", Sample: 100}}); err == nil || !strings.Contains(err.Error(), "needs data") {
		t.Errorf("a data proxy for the warm start: %v", err)
	}
}

// Zero-cost features extend the encoding, and a proxy that needs data is refused.
func TestPredictorZeroCostFeatures(t *testing.T) {
	sp := nb201(t)
	s, err := NewPredictor(sp, 1, predictorWith(func(o *PredictorOptions) {
		o.ZeroCost, o.Candidates, o.K, o.Ensemble, o.Epochs, o.Hidden = []string{"params", "flops"}, 20, 4, 2, 10, []int{8}
	}))
	if err != nil {
		t.Fatal(err)
	}
	a := sp.Sample(s.rand.rng)
	f := s.features(a)
	if len(f) != len(sp.Encode(a))+2 || f[len(f)-1] <= 0 || f[len(f)-1] > 1 {
		t.Errorf("features %v", f)
	}
	d := newDriver(s, 2)
	d.run(40)
	if len(d.log) != 40 {
		t.Errorf("%d trials", len(d.log))
	}
	if _, err := NewPredictor(sp, 1, predictorWith(func(o *PredictorOptions) { o.ZeroCost = []string{"naswot"} })); err == nil || !strings.Contains(err.Error(), "needs data") {
		t.Errorf("a data proxy as a feature: %v", err)
	}
}

// predictorWith is DefaultPredictor with some options changed.
func predictorWith(change func(*PredictorOptions)) PredictorOptions {
	o := DefaultPredictor
	change(&o)
	return o
}

// The predictor's warm start spends no query choosing its first archs: they are the
// best of its pool by data-free proxies, each above the median synflow and live params
// of random archs.
func TestPredictorWarmStartTakesTheZeroCostBest(t *testing.T) {
	sp := nb201(t)
	s, err := NewPredictor(sp, 1, DefaultPredictor)
	if err != nil {
		t.Fatal(err)
	}
	first := s.Ask(DefaultPredictor.Initial)
	rng := rand.New(rand.NewPCG(5, 5))
	for _, p := range DefaultPredictor.ZeroCost {
		var sample []float64
		for range 200 {
			v, err := proxies.DataFree(sp, p, sp.Sample(rng))
			if err != nil {
				t.Fatal(err)
			}
			sample = append(sample, v)
		}
		slices.Sort(sample)
		median := sample[len(sample)/2]
		for _, c := range first {
			if v, _ := proxies.DataFree(sp, p, c.Arch); v <= median {
				t.Errorf("warm start %s: %s %v, not above the median %v of random archs", c.Arch, p, v, median)
			}
		}
	}
	if _, err := NewPredictor(sp, 1, predictorWith(func(o *PredictorOptions) { o.ZeroCost = nil })); err == nil || !strings.Contains(err.Error(), "warm_pool") {
		t.Errorf("a warm pool without zero_cost proxies: %v", err)
	}
}
