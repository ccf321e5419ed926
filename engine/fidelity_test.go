package engine_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	. "cellar/engine"
	"cellar/internal/enginetest"
)

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
	if cs := RungCorrelations(trials); !math.IsNaN(cs[0].ParamsKendall) || cs[0].Weaker() {
		t.Errorf("without params: %+v", cs[0])
	}
	// Params that rank the trials as the last rung does: the first rung (tau -1) is
	// weaker than them.
	for i := range trials[:10] {
		trials[i].Rungs[0].Metrics = map[string]float64{"params": float64(100 - i)}
	}
	if cs := RungCorrelations(trials); cs[0].ParamsKendall != 1 || !cs[0].Weaker() {
		t.Errorf("params ranking as the last rung: %+v", cs[0])
	}
	for i := range trials[:10] {
		trials[i].Rungs[0].Metrics = nil
		trials[i].Metrics = map[string]float64{"params": float64(i)} // the trial's own, when no rung has them
	}
	if cs := RungCorrelations(trials); cs[0].ParamsKendall != -1 || cs[0].Weaker() || !math.IsNaN(cs[0].LiveParamsKendall) {
		t.Errorf("params ranking against the last rung: %+v", cs[0])
	}
	// Live params (the oneshot evaluator's) that rank as the last rung does, where all
	// params do not: the rung is weaker than them. One trial without them: none.
	for i := range trials[:10] {
		trials[i].Rungs[0].Metrics = map[string]float64{"live_params": float64(100 - i)}
	}
	if cs := RungCorrelations(trials); cs[0].LiveParamsKendall != 1 || cs[0].ParamsKendall != -1 || !cs[0].Weaker() {
		t.Errorf("live params ranking as the last rung: %+v", cs[0])
	}
	trials[3].Rungs[0].Metrics = nil
	if cs := RungCorrelations(trials); !math.IsNaN(cs[0].LiveParamsKendall) || cs[0].Weaker() {
		t.Errorf("a trial without live params: %+v", cs[0])
	}
	for i := range trials[:10] {
		trials[i].Rungs[0].Metrics = nil
	}
	// A rung and params that misorder different pairs: the mean of their ranks
	// misorders none, and only ties two pairs (tau-b 12/sqrt(12*15)).
	trials = nil
	for i, v := range []struct{ rung, params float64 }{{2, 1}, {1, 2}, {3, 4}, {4, 3}, {6, 5}, {5, 6}} {
		x, y := v.rung, float64(i+1)
		trials = append(trials, Trial{Rungs: []RungResult{{Score: &x, Metrics: map[string]float64{"params": v.params}}, {Score: &y}}})
	}
	cs = RungCorrelations(trials)
	if want := 12 / math.Sqrt(12*15); math.Abs(cs[0].WithParamsKendall-want) > 1e-12 || !(cs[0].WithParamsKendall > cs[0].Kendall) || !(cs[0].WithParamsKendall > cs[0].ParamsKendall) {
		t.Errorf("both: %+v; want %v, above the rung's and params' own", cs[0], want)
	}
	// A mean_rank rung stores its rank metrics (Ranks): its correlations are of their
	// mean rank, as it promotes, not of its first metric (Score) alone. The same
	// misordered pairs as above, now two metrics of the rung.
	for i, v := range []struct{ a, b float64 }{{2, 1}, {1, 2}, {3, 4}, {4, 3}, {6, 5}, {5, 6}} {
		trials[i].Rungs[0].Score, trials[i].Rungs[0].Ranks, trials[i].Rungs[0].Metrics = &v.a, []float64{v.a, v.b}, nil
	}
	cs = RungCorrelations(trials)
	if want := 12 / math.Sqrt(12*15); math.Abs(cs[0].Kendall-want) > 1e-12 {
		t.Errorf("by the mean rank of the rung's metrics: %+v; want tau %v", cs[0], want)
	}
	trials[3].Rungs[0].Ranks = nil // a trial stored before Ranks: all by Score, as before
	if cs := RungCorrelations(trials); cs[0].Kendall != 11.0/15 {
		t.Errorf("one trial without Ranks: %+v; want the first metric's tau %v", cs[0], 11.0/15)
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
		store := &enginetest.MemStore{}
		e := New(exp, Options{Store: store, Simulate: &DefaultSimTime})
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		clocks := make([]float64, par)
		n, late := len(store.Trials), 0
		for id := uint64(1); id <= uint64(n); id++ {
			tr := store.Trials[id]
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
