package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"cellar/internal/testtable"
)

// The ladder's rule by hand: with eta 3, n results at a rung keep the best ⌊n/3⌋, at
// least one, and ties favour the newcomer.
func TestLadderPromotesTopFraction(t *testing.T) {
	l := ladder{Eta: 3}
	for i, c := range []struct {
		score          float64
		place, n, keep int
		promoted       bool
	}{
		{50, 0, 1, 1, true},    // the first always goes on
		{40, 1, 2, 1, false},   // second of 2, keep 1
		{60, 0, 3, 1, true},    // best of 3
		{55, 1, 4, 1, false},   // second of 4, keep 1
		{58, 1, 5, 1, false},   // second of 5
		{59, 1, 6, 2, true},    // second of 6, keep 2
		{60, 0, 7, 2, true},    // ties the best: nothing is strictly better
		{10, 7, 8, 2, false},   // last
		{58.5, 3, 9, 3, false}, // behind 60, 60, 59
	} {
		place, n, keep := l.place(0, uint64(i+1), []float64{c.score})
		if place != c.place || n != c.n || keep != c.keep || (place < keep) != c.promoted {
			t.Errorf("result %d (%v): place %d of %d keep %d; want %d of %d keep %d", i+1, c.score, place, n, keep, c.place, c.n, c.keep)
		}
	}
	// A trial judged again (run again after a pause) keeps one record.
	if _, n, _ := l.place(0, 3, []float64{60}); n != 9 {
		t.Errorf("a repeat made %d records; want 9", n)
	}
}

// With two objectives the place is by front, then crowding: a point no other
// dominates is placed before every dominated one, whatever its first score.
func TestLadderMultiObjectiveUsesFronts(t *testing.T) {
	l := ladder{Eta: 2}
	// (accuracy, -params): higher is better in both.
	l.place(0, 1, []float64{90, -5})
	l.place(0, 2, []float64{80, -1})
	l.place(0, 3, []float64{70, -6}) // dominated by 1
	// 4 has the worst accuracy but the fewest params: on the first front.
	place, n, keep := l.place(0, 4, []float64{60, -0.5})
	if n != 4 || keep != 2 {
		t.Fatalf("n %d keep %d", n, keep)
	}
	// Front 1 is {1, 2, 4}: 1 and 4 are extremes (infinite crowding), 2 is not.
	if place != 0 {
		t.Errorf("a non-dominated extreme placed %d; want 0", place)
	}
	if p, _, _ := l.place(0, 3, []float64{70, -6}); p != 3 {
		t.Errorf("the dominated point placed %d; want 3 (after the whole first front)", p)
	}
	if p, _, _ := l.place(0, 2, []float64{80, -1}); p != 2 {
		t.Errorf("the crowded middle of the front placed %d; want 2", p)
	}
	// By accuracy alone 4 would be last.
	single := ladder{Eta: 2}
	for i, v := range []float64{90, 80, 70} {
		single.place(0, uint64(i+1), []float64{v})
	}
	if p, _, _ := single.place(0, 4, []float64{60}); p != 3 {
		t.Errorf("single objective place %d; want 3", p)
	}
}

func TestMedianStoppingRule(t *testing.T) {
	s, err := newStopper(EarlyStopOptions{Rule: "median", Grace: 2, MinTrials: 3}, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Before min_trials finished trials, nothing stops.
	if ok, _ := s.keep(9, []float64{1, 1}); !ok {
		t.Fatal("stopped with no finished trials")
	}
	s.finished(1, []float64{50, 60, 70, 80, 90}) // running means: 50, 55, 60
	s.finished(2, []float64{40, 50, 60, 70, 80}) // 40, 45, 50
	s.finished(3, []float64{60, 70, 80, 90, 95}) // 60, 65, 70
	// Epoch 1 is within grace.
	if ok, _ := s.keep(9, []float64{1}); !ok {
		t.Error("stopped within grace")
	}
	// At epoch 2 the median of running means is 55: best 54 stops, 55 goes on.
	ok, stop := s.keep(9, []float64{54, 20})
	if ok || stop == nil || stop.Epoch != 2 || stop.Rule != "median" || !strings.Contains(stop.Reason, "55.00") {
		t.Errorf("best 54 under median 55: keep %v, stop %+v", ok, stop)
	}
	if ok, _ := s.keep(10, []float64{30, 55}); !ok {
		t.Error("best 55 equals the median 55 and must go on (strictly worse stops)")
	}
	// At epoch 3 the median is 60.
	if ok, _ := s.keep(11, []float64{59, 58, 57}); ok {
		t.Error("best 59 under median 60 went on")
	}
}

func TestASHAStopsByRung(t *testing.T) {
	// 9 epochs, grace 1, eta 3: rungs at 1 and 3 epochs.
	s, err := newStopper(EarlyStopOptions{Rule: "asha", Grace: 1, Eta: 3}, 9)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.rungs(0); fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("rungs %v; want [1 3]", got)
	}
	decide := func(id uint64, curve ...float64) bool { ok, _ := s.keep(id, curve); return ok }
	want := []bool{true, false, true, false, false, true} // as the ladder test: keep ⌊n/3⌋, at least 1
	for i, v := range []float64{50, 40, 60, 55, 58, 59} {
		if got := decide(uint64(i+1), v); got != want[i] {
			t.Errorf("trial %d at rung 0 (%v): keep %v; want %v", i+1, v, got, want[i])
		}
	}
	// Epoch 2 is no rung: nothing is judged.
	if !decide(2, 10, 10) {
		t.Error("stopped at epoch 2, which is no rung")
	}
	// Rung 1 (epoch 3) has its own results.
	if !decide(1, 50, 51, 52) {
		t.Error("the first arrival at rung 1 stopped")
	}
	ok, stop := s.keep(3, []float64{60, 50, 40})
	if ok || stop.Rung != 1 || stop.Epoch != 3 || stop.Rule != "asha" {
		t.Errorf("second at rung 1 with eta 3: keep %v stop %+v", ok, stop)
	}
}

func TestHyperbandBrackets(t *testing.T) {
	// 27 epochs, grace 1, eta 3: brackets starting at 1, 3 and 9 epochs.
	s, err := newStopper(EarlyStopOptions{Rule: "hyperband", Grace: 1, Eta: 3}, 27)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.st.Brackets) != 3 {
		t.Fatalf("%d brackets; want 3", len(s.st.Brackets))
	}
	for b, want := range []string{"[1 3 9]", "[3 9]", "[9]"} {
		if got := fmt.Sprint(s.rungs(b)); got != want {
			t.Errorf("bracket %d rungs %s; want %s", b, got, want)
		}
	}
	// Trial 3 is in bracket 0, trial 4 in bracket 1: after a good trial 3 at epoch 1,
	// a bad trial 6 (bracket 0) stops there, a bad trial 4 (bracket 1) is not judged
	// until epoch 3.
	s.keep(3, []float64{90})
	if ok, _ := s.keep(6, []float64{10}); ok {
		t.Error("trial 6 (bracket 0) went on from rung 0 behind trial 3")
	}
	if ok, _ := s.keep(4, []float64{10}); !ok {
		t.Error("trial 4 (bracket 1) was judged at epoch 1")
	}
}

func TestEarlyStopOptionErrors(t *testing.T) {
	for _, c := range []struct {
		opt  EarlyStopOptions
		want string
	}{
		{EarlyStopOptions{Rule: "sometimes"}, `rule "sometimes"`},
		{EarlyStopOptions{Rule: "asha", Grace: 5}, "grace 5"},
		{EarlyStopOptions{Rule: "asha", Eta: 1}, "eta 1"},
		{EarlyStopOptions{Rule: "median", MinTrials: -1}, "min_trials -1"},
	} {
		if _, err := newStopper(c.opt, 5); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error with %q", c.opt, err, c.want)
		}
	}
}

func cascadeExp(t testing.TB, strategy string, trials, parallel int, extra string) *Experiment {
	t.Helper()
	path := testtable.NB201(t, testtable.Smooth)
	return buildExp(t, fmt.Sprintf(`
name: cascade
seed: 5
space: {name: nb201}
strategy: {name: %s}
evaluator: {name: cascade, eta: 3, rungs: [{name: params}, {name: table, path: %s}]%s}
objectives: [{name: test_accuracy, direction: max}]
budget: {trials: %d}
parallelism: %d
`, strategy, path, extra, trials, parallel))
}

// A cascade stores every rung a trial reached, and promotes exactly as the rule says:
// with one trial at a time, trials reach rung 0 in id order, so the decisions can be
// recomputed from the stored trials alone.
func TestCascadeStoresEveryRungAndPromotesByRank(t *testing.T) {
	exp := cascadeExp(t, "random", 60, 1, "")
	store := &memStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := ladder{Eta: 3}
	promoted := 0
	for id := uint64(1); id <= 60; id++ {
		tr := store.trials[id]
		if tr.State != Done || len(tr.Rungs) == 0 || tr.Rungs[0].Evaluator != "params" {
			t.Fatalf("trial %d: %s %s, rungs %+v", id, tr.State, tr.Error, tr.Rungs)
		}
		if s := tr.Rungs[0].Score; s == nil || *s != tr.Rungs[0].Metrics["params"] {
			t.Errorf("trial %d: rung 0 score %v; want its params", id, s)
		}
		place, _, keep := check.place(0, id, []float64{tr.Rungs[0].Metrics["params"]})
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
	exp := buildExp(t, fmt.Sprintf(`
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
	store := &memStore{}
	e := New(exp, Options{Store: store})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := e.Snapshot()
	full := 0
	for _, tr := range store.trials {
		if tr.Full() {
			full++
		}
	}
	if full != 25 || st.Full != 25 || st.Stopped != len(store.trials)-25 || st.Stopped == 0 {
		t.Errorf("full %d (status %d), stopped %d of %d trials", full, st.Full, st.Stopped, len(store.trials))
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
	} {
		cfg, err := ParseConfig([]byte("space: nb201\nstrategy: random\nbudget: {trials: 5}\nevaluator: " + c.evaluator))
		if err == nil {
			_, err = Build(cfg, nil, nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error with %q", c.evaluator, err, c.want)
		}
	}
}

// With two rank metrics, a rung ranks by non-dominated sorting, not by one metric.
func TestCascadeMultiObjectiveRank(t *testing.T) {
	path := testtable.NB201(t, testtable.Smooth)
	exp := buildExp(t, fmt.Sprintf(`
space: nb201
strategy: random
seed: 2
evaluator: {name: cascade, rungs: [{name: flops, rank: [flops, params:min]}, {name: table, path: %s}]}
objectives: [{name: test_accuracy}, {name: params, direction: min}]
budget: {trials: 40}
`, path))
	if got := fmt.Sprint(exp.Evaluator.(*Cascade).rungs[0].rank); got != "[{flops max} {params min}]" {
		t.Fatalf("rank %s", got)
	}
	store := &memStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	check := ladder{Eta: 3}
	for id := uint64(1); id <= 40; id++ {
		tr := store.trials[id]
		m := tr.Rungs[0].Metrics
		place, _, keep := check.place(0, id, []float64{m["flops"], -m["params"]})
		if (place < keep) != tr.Rungs[0].Promoted {
			t.Errorf("trial %d promoted %v; non-dominated sorting says %v", id, tr.Rungs[0].Promoted, place < keep)
		}
	}
}

func TestRungCorrelations(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	var trials []Trial
	for i := 0; i < 10; i++ {
		x := float64(i)
		trials = append(trials, Trial{Rungs: []RungResult{{Score: f(x)}, {Score: f(x * x)}}})
	}
	trials = append(trials, Trial{Rungs: []RungResult{{Score: f(100)}}}) // stopped at rung 0
	cs := RungCorrelations(trials)
	if len(cs) != 1 || cs[0].N != 10 || cs[0].Spearman != 1 || cs[0].Kendall != 1 {
		t.Errorf("%+v; want one pair over 10 trials, perfectly monotone", cs)
	}
	for i := range trials[:10] {
		trials[i].Rungs[1].Score = f(-float64(i))
	}
	if cs := RungCorrelations(trials); cs[0].Spearman != -1 || cs[0].Kendall != -1 {
		t.Errorf("%+v; want -1", cs)
	}
}

func TestSimTimeCharges(t *testing.T) {
	s := DefaultSimTime
	if v, ok := s.Seconds(map[string]float64{"train_seconds": 42, "flops": 1e8}); !ok || v != 42 {
		t.Errorf("with the column: %v %v; want 42", v, ok)
	}
	if v, ok := s.Seconds(map[string]float64{"flops": 1e8}); !ok || v != 3*1e8*25000*12/1e12 {
		t.Errorf("from flops: %v %v", v, ok)
	}
	if _, ok := s.Seconds(map[string]float64{"test_accuracy": 90}); ok {
		t.Error("charged a trial with neither")
	}
	if err := (SimTime{Epochs: 1, Samples: 1}).Check(); err == nil {
		t.Error("a zero rate passed")
	}
}

// On a simulated clock the time budget is spent by the trials' charges, scheduled on
// the simulated workers in trial order, whatever the wall clock says.
func TestSimulatedTimeBudget(t *testing.T) {
	for _, par := range []int{1, 3} {
		exp := tableConfig(t, "regevo", 0, par)
		exp.Config.Budget = Budget{Time: 12000 * time.Second}
		store := &memStore{}
		e := New(exp, Options{Store: store, Simulate: &DefaultSimTime})
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		clocks := make([]float64, par)
		n, late := len(store.trials), 0
		for id := uint64(1); id <= uint64(n); id++ {
			tr := store.trials[id]
			want := 3 * tr.Metrics["flops"] * 25000 * 12 / 1e12
			if tr.Metrics[MetricSimulated] != want || want == 0 {
				t.Fatalf("trial %d charged %v; want %v", id, tr.Metrics[MetricSimulated], want)
			}
			if slices.Min(clocks) >= 12000 {
				late++ // asked while the trials ahead of it were still out
			}
			i := slices.Index(clocks, slices.Min(clocks))
			clocks[i] += want
		}
		if late > par-1 {
			t.Errorf("parallelism %d: %d trials ran after every worker passed the budget; at most %d may", par, late, par-1)
		}
		if slices.Min(clocks) < 12000 {
			t.Errorf("parallelism %d: stopped after %d trials with a worker free at %.0f s", par, n, slices.Min(clocks))
		}
		st := e.Snapshot()
		if !st.Simulated || st.Elapsed != time.Duration(slices.Max(clocks)*float64(time.Second)) {
			t.Errorf("status elapsed %v simulated %v; want %.0f s", st.Elapsed, st.Simulated, slices.Max(clocks))
		}
		if n < 50 || n > 400 {
			t.Errorf("parallelism %d: %d trials in 12,000 simulated seconds; about 120 per worker expected", par, n)
		}
	}
}
