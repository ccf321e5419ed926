package engine

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"cellar/latency"
	"cellar/pareto"
	"cellar/spaces"
)

// BenchConfig is a strategy benchmark on a tabular benchmark: each strategy runs Runs
// times (seeds Seed, Seed+1, ...) with a budget of Budget queries and storage off.
type BenchConfig struct {
	Table      *Table
	Space      spaces.Space
	Metric     string
	Maximise   bool
	Strategies []Component
	Runs       int
	Budget     int
	Seed       uint64
	// Objectives, when two or more, make the benchmark multi-objective (Metric and
	// Maximise are then unused): each run is measured by the hypervolume of the Pareto
	// front of its trials, against Reference (the worst point, in the objectives'
	// units), divided by the volume between Reference and Ideal (the best point), so
	// that 1 would be a front at the ideal point.
	Objectives       []Objective
	Reference, Ideal []float64
	// Latency is the machine's latency table, for a latency objective.
	Latency *latency.Table
}

// BenchRow is one strategy's best-so-far statistics after a number of queries.
type BenchRow struct {
	Strategy string  `json:"strategy"`
	Queries  int     `json:"queries"`
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
	Runs     int     `json:"runs"`
}

// BenchCheckpoints are the query counts a benchmark reports, up to and including
// the budget.
func BenchCheckpoints(budget int) []int {
	var out []int
	for _, q := range []int{10, 20, 50, 100, 200, 500, 1000, 2000, 5000} {
		if q < budget {
			out = append(out, q)
		}
	}
	return append(out, budget)
}

// Bench runs the benchmark, runs in parallel on every core, and returns a row per
// strategy and checkpoint. progress, if set, is called after each run.
func Bench(ctx context.Context, cfg BenchConfig, progress func(done, total int)) ([]BenchRow, error) {
	if cfg.Runs < 1 || cfg.Budget < 1 {
		return nil, fmt.Errorf("bench: runs %d and budget %d must be positive", cfg.Runs, cfg.Budget)
	}
	checks := BenchCheckpoints(cfg.Budget)
	// best[s][r][c]: strategy s, run r, best value after checks[c] queries.
	best := make([][][]float64, len(cfg.Strategies))
	for s := range best {
		best[s] = make([][]float64, cfg.Runs)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.NumCPU())
	var mu sync.Mutex
	done, total := 0, len(cfg.Strategies)*cfg.Runs
	for s, comp := range cfg.Strategies {
		for r := 0; r < cfg.Runs; r++ {
			g.Go(func() error {
				curve, err := benchRun(ctx, cfg, comp, cfg.Seed+uint64(r), checks)
				if err != nil {
					return fmt.Errorf("%s run %d: %w", comp.Name, r, err)
				}
				mu.Lock()
				defer mu.Unlock()
				best[s][r] = curve
				done++
				if progress != nil {
					progress(done, total)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var rows []BenchRow
	for s, comp := range cfg.Strategies {
		for c, q := range checks {
			vals := make([]float64, cfg.Runs)
			for r := range vals {
				vals[r] = best[s][r][c]
			}
			m, sd := meanStd(vals)
			rows = append(rows, BenchRow{Strategy: comp.Label(), Queries: q, Mean: m, Std: sd, Runs: cfg.Runs})
		}
	}
	return rows, nil
}

// benchRun runs one search through the engine, as a real search runs, without a
// store, and returns the best value seen after each checkpoint's number of queries.
func benchRun(ctx context.Context, cfg BenchConfig, comp Component, seed uint64, checks []int) ([]float64, error) {
	dir := "max"
	if !cfg.Maximise {
		dir = "min"
	}
	objs := []Objective{{Name: cfg.Metric, Direction: dir}}
	if len(cfg.Objectives) > 1 {
		objs = cfg.Objectives
	}
	c := &Config{Name: "bench", Seed: seed, Space: Component{Name: cfg.Space.Name()}, Strategy: comp, Evaluator: Component{Name: "table"},
		Objectives: objs, Budget: Budget{Trials: cfg.Budget}, Parallelism: 1, Latency: cfg.Latency}
	strat, err := BuildStrategy(comp, cfg.Space, seed)
	if err != nil {
		return nil, err
	}
	if err := setObjectives(strat, objs); err != nil {
		return nil, err
	}
	if len(objs) > 1 {
		return benchPareto(ctx, cfg, &Experiment{Config: c, Space: cfg.Space, Strategy: strat, Evaluator: cfg.Table}, checks)
	}
	exp := &Experiment{Config: c, Space: cfg.Space, Strategy: strat, Evaluator: cfg.Table}
	out := make([]float64, len(checks))
	best := math.Inf(-1)
	if !cfg.Maximise {
		best = math.Inf(1)
	}
	n, ci := 0, 0
	observe := func(t Trial) {
		n++
		if v, ok := t.Metrics[cfg.Metric]; ok && t.State == Done && ((cfg.Maximise && v > best) || (!cfg.Maximise && v < best)) {
			best = v
		}
		for ci < len(checks) && n == checks[ci] {
			out[ci] = best
			ci++
		}
	}
	if err := New(exp, Options{Observe: observe}).Run(ctx); err != nil {
		return nil, err
	}
	if ci < len(checks) {
		// The strategy stopped early (it ran out of candidates): its best stands.
		for ; ci < len(checks); ci++ {
			out[ci] = best
		}
	}
	return out, nil
}

// benchPareto runs one multi-objective search and returns the normalised hypervolume
// of its trials' Pareto front after each checkpoint's number of queries.
func benchPareto(ctx context.Context, cfg BenchConfig, exp *Experiment, checks []int) ([]float64, error) {
	dirs := make([]bool, len(cfg.Objectives))
	box := 1.0
	for i, o := range cfg.Objectives {
		dirs[i] = o.Maximise()
		box *= math.Abs(cfg.Ideal[i] - cfg.Reference[i])
	}
	var front [][]float64
	out := make([]float64, len(checks))
	n, ci := 0, 0
	var hv float64
	observe := func(t Trial) {
		n++
		if t.State == Done {
			p := make([]float64, len(cfg.Objectives))
			ok := true
			for i, o := range cfg.Objectives {
				v, has := t.Metrics[o.Name]
				p[i], ok = v, ok && has
			}
			if ok && !slices.ContainsFunc(front, func(q []float64) bool { return pareto.Dominates(q, p, dirs) || slices.Equal(q, p) }) {
				front = slices.DeleteFunc(front, func(q []float64) bool { return pareto.Dominates(p, q, dirs) })
				front = append(front, p)
				hv = pareto.Hypervolume(front, dirs, cfg.Reference) / box
			}
		}
		for ci < len(checks) && n == checks[ci] {
			out[ci] = hv
			ci++
		}
	}
	if err := New(exp, Options{Observe: observe}).Run(ctx); err != nil {
		return nil, err
	}
	for ; ci < len(checks); ci++ {
		out[ci] = hv
	}
	return out, nil
}

func meanStd(v []float64) (float64, float64) {
	var sum float64
	for _, x := range v {
		sum += x
	}
	m := sum / float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	if len(v) < 2 {
		return m, 0
	}
	return m, math.Sqrt(ss / float64(len(v)-1))
}
