package engine_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	. "cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
	"cellar/internal/testtable"
	"cellar/latency"
	"cellar/spaces"
)

// medianParams is the median param count of NB201 (defaults) archs: a limit that
// about half the space breaks.
func medianParams(t *testing.T) float64 {
	t.Helper()
	s, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	var ps []float64
	for range 201 {
		n, err := s.Network(s.Sample(rng))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, float64(n.Params()))
	}
	sort.Float64s(ps)
	return ps[100]
}

func constrainedConfig(t *testing.T, strategy, constraints string, trials int) *Experiment {
	t.Helper()
	path := testtable.NB201(t, testtable.Smooth)
	return enginetest.Build(t, fmt.Sprintf(`
name: constrained
seed: 4
space: nb201
strategy: %s
evaluator: {name: table, path: %s}
objectives: [{name: test_accuracy}]
constraints: %s
budget: {trials: %d}
`, strategy, path, constraints, trials))
}

func TestRejectModeProposesOnlyFeasibleArchs(t *testing.T) {
	limit := medianParams(t)
	for _, strategy := range []string{"random", "{name: regevo, population: 20, sample: 5}", "{name: local}", "reinforce"} {
		t.Run(strategy, func(t *testing.T) {
			store := &enginetest.MemStore{}
			enginetest.Run(t, constrainedConfig(t, strategy, fmt.Sprintf("{params: %g}", limit), 60), Options{Store: store})
			done, rejected := 0, 0
			for _, tr := range store.Trials {
				if tr.State == Failed {
					// Only a controller's decoded tokens can break a limit; they fail unevaluated.
					if !strings.HasPrefix(tr.Error, "constraint: params") || strategy != "reinforce" {
						t.Errorf("trial %d failed: %s", tr.ID, tr.Error)
					}
					rejected++
					continue
				}
				done++
				if p := tr.Metrics["params"]; p > limit || tr.Metrics[MetricViolation] != 0 {
					t.Errorf("trial %d %s: params %g over the limit %g (violation %g)", tr.ID, tr.Arch, p, limit, tr.Metrics[MetricViolation])
				}
				if _, ok := tr.Metrics[MetricPenalty]; ok {
					t.Errorf("trial %d: reject mode stored a penalty", tr.ID)
				}
			}
			if done < 30 {
				t.Errorf("%d trials done, %d rejected", done, rejected)
			}
		})
	}
}

func TestPenaliseModeScalesScores(t *testing.T) {
	limit := medianParams(t)
	store := &enginetest.MemStore{}
	exp := constrainedConfig(t, "random", fmt.Sprintf("{params: %g, mode: penalise, penalty: 0.5}", limit), 60)
	e := New(exp, Options{Store: store})
	if err := e.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	over, best, bestScore := 0, uint64(0), math.Inf(-1)
	for _, tr := range store.Trials {
		p, acc := tr.Metrics["params"], tr.Metrics["test_accuracy"]
		wantFactor, wantViolation := 1.0, 0.0
		if p > limit {
			over++
			wantFactor, wantViolation = math.Pow(limit/p, 0.5), p/limit-1
		}
		if got := tr.Metrics[MetricPenalty]; math.Abs(got-wantFactor) > 1e-12 {
			t.Errorf("trial %d: %g params, penalty %g, want %g", tr.ID, p, got, wantFactor)
		}
		if got := tr.Metrics[MetricViolation]; math.Abs(got-wantViolation) > 1e-12 {
			t.Errorf("trial %d: violation %g, want %g", tr.ID, got, wantViolation)
		}
		if s := acc * wantFactor; s > bestScore {
			best, bestScore = tr.ID, s
		}
	}
	if over == 0 || over == len(store.Trials) {
		t.Fatalf("%d of %d trials over the limit: the test shows nothing", over, len(store.Trials))
	}
	if st := e.Snapshot(); st.Best == nil || st.Best.ID != best || math.Abs(st.BestScore-bestScore) > 1e-9 {
		t.Errorf("best %v (%g); by the penalised score trial %d (%g)", st.Best, st.BestScore, best, bestScore)
	}
}

// workTimer is a synthetic machine whose passes take one nanosecond per FLOP.
func workTimer(n *spaces.Net) (time.Duration, error) { return time.Duration(n.FLOPs()), nil }

func TestLatencyObjectiveAndLimitFromTheTable(t *testing.T) {
	s, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(6, 6))
	var nets []*spaces.Net
	var est []float64
	for range 40 {
		n, err := s.Network(s.Sample(rng))
		if err != nil {
			t.Fatal(err)
		}
		nets = append(nets, n)
	}
	table, err := latency.Build(t.Context(), nil, nets, workTimer, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		est = append(est, table.Estimate(n).MS)
	}
	sort.Float64s(est)
	limit := est[len(est)/2]
	src := fmt.Sprintf(`
name: latency
seed: 2
space: nb201
strategy: {name: nsga2, population: 10}
evaluator: params
objectives: [{name: params, direction: min}, {name: latency, direction: min}]
constraints: {latency: %g}
budget: {trials: 30}
`, limit)
	cfg, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.NeedsLatency() {
		t.Fatal("NeedsLatency is false for a latency objective and limit")
	}
	cfg.Latency = table
	exp, err := Build(cfg, []byte(src), evaluators.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	store := &enginetest.MemStore{}
	enginetest.Run(t, exp, Options{Store: store})
	if len(store.Trials) != 30 {
		t.Fatalf("%d trials", len(store.Trials))
	}
	for _, tr := range store.Trials {
		a, err := s.Parse([]byte(tr.Arch))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := s.Network(a)
		want := table.Estimate(n).MS
		if got := tr.Metrics["latency"]; got != want || got > limit || tr.State != Done {
			t.Errorf("trial %d (%s): latency %g, estimate %g, limit %g, %s", tr.ID, tr.State, got, want, limit, tr.Error)
		}
	}
}
