// Package bench holds the benchmark procedures, which the CLI gives flags and prints:
// strategies on tabular benchmarks (every strategy, several seeds each, through the
// real engine with storage off, reporting the best value, or a Pareto front's
// hypervolume, after a number of queries or of simulated seconds), and one-shot
// supernets scored against a truth (oneshot.go).
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/latency"
	"cellar/pareto"
	"cellar/spaces"
)

// Config is a strategy benchmark on a tabular benchmark: each strategy runs Runs
// times (seeds Seed, Seed+1, ...) with a budget of Budget queries and storage off.
type Config struct {
	Table      *evaluators.Table
	Space      spaces.Space
	Metric     string
	Maximise   bool
	Strategies []engine.Component
	Runs       int
	Budget     int
	Seed       uint64
	// Dedupe is the runs' Config.Dedupe: with function or arch, a trial the strategy
	// asks again is a duplicate and no query.
	Dedupe string
	// Defaults is the generation of defaults the strategies take (engine.Config's
	// Defaults): 0, those of experiments made before the current ones.
	Defaults int
	// Objectives, when two or more, make the benchmark multi-objective (Metric and
	// Maximise are then unused): each run is measured by the hypervolume of the Pareto
	// front of its trials, against Reference (the worst point, in the objectives'
	// units), divided by the volume between Reference and Ideal (the best point), so
	// that 1 would be a front at the ideal point.
	Objectives       []engine.Objective
	Reference, Ideal []float64
	// Latency is the machine's latency table, for a latency objective.
	Latency *latency.Table
	// Cascade, when set, are cheaper rungs put before the table: each strategy then
	// runs a second time through that cascade, promoting the best 1/Eta of each rung.
	// A query is one evaluation by the table, so both runs of a strategy get the same
	// number of table queries; evaluations at the cheaper rungs are not counted (they
	// are reported apart). Their results are memoised across runs: they are
	// deterministic, and the same archs recur.
	Cascade     []engine.Evaluator
	CascadeName string // for the rows' labels, e.g. "synflow"
	Eta         float64
	// Simulate, when set, gives each run a budget of simulated time (TimeBudget)
	// instead of queries: every trial is charged its simulated training time, and
	// the best value is reported at fractions of the budget (see engine.SimTime).
	Simulate   *engine.SimTime
	TimeBudget time.Duration
}

// Checkpoints are where the benchmark reports: query counts, or with simulated
// time, whole seconds at a tenth, a quarter, half and all of the budget.
func (cfg Config) Checkpoints() []int {
	if cfg.Simulate == nil {
		return QueryCheckpoints(cfg.Budget)
	}
	b := cfg.TimeBudget.Seconds()
	return []int{int(b / 10), int(b / 4), int(b / 2), int(b)}
}

// benchArm is one row group of a benchmark: a strategy, alone or through the cascade.
type benchArm struct {
	comp    engine.Component
	cascade bool
}

func (a benchArm) label(cfg Config) string {
	if a.cascade {
		return fmt.Sprintf("%s, cascade %s → table (eta %g)", a.comp.Label(), cfg.CascadeName, cfg.Eta)
	}
	return a.comp.Label()
}

// Row is one strategy's best-so-far statistics after a number of queries.
type Row struct {
	Strategy string  `json:"strategy"`
	Queries  int     `json:"queries"` // with simulated time: simulated seconds
	Mean     float64 `json:"mean"`
	Std      float64 `json:"std"`
	Runs     int     `json:"runs"`
	// Hits are the runs whose best is the table's optimum by Queries (single
	// objective, counted in queries; 0 otherwise).
	Hits int `json:"hits"`
	// Q50 is the median over the runs of the queries a run took to reach the optimum,
	// the same in every row of a strategy; 0 when fewer than half the runs reached it
	// within the budget.
	Q50 int `json:"q50"`
}

// result is one run: the best value after each checkpoint, and the query at which
// the best first was the optimum (0: never).
type result struct {
	best    []float64
	optimum int
}

// QueryCheckpoints are the query counts a benchmark reports, up to and including
// the budget.
func QueryCheckpoints(budget int) []int {
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
func Run(ctx context.Context, cfg Config, progress func(done, total int)) ([]Row, error) {
	if cfg.Runs < 1 || (cfg.Budget < 1 && cfg.Simulate == nil) {
		return nil, fmt.Errorf("bench: runs %d and budget %d must be positive", cfg.Runs, cfg.Budget)
	}
	if cfg.Simulate != nil && cfg.TimeBudget < time.Second {
		return nil, fmt.Errorf("bench: a simulated time budget of %v; give at least a second", cfg.TimeBudget)
	}
	if err := engine.CheckDedupe(cfg.Dedupe); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if len(cfg.Cascade) > 0 && len(cfg.Objectives) > 1 {
		return nil, errors.New("bench: a cascade benchmark takes one objective")
	}
	checks := cfg.Checkpoints()
	var arms []benchArm
	for _, c := range cfg.Strategies {
		arms = append(arms, benchArm{comp: c})
	}
	if len(cfg.Cascade) > 0 {
		if cfg.Eta <= 1 {
			return nil, fmt.Errorf("bench: eta %v must be more than 1", cfg.Eta)
		}
		for i := range cfg.Cascade {
			cfg.Cascade[i] = &memo{Evaluator: cfg.Cascade[i], seen: map[string]engine.Outcome{}}
		}
		for _, c := range cfg.Strategies {
			arms = append(arms, benchArm{comp: c, cascade: true})
		}
	}
	// runs[s][r]: arm s, run r.
	runs := make([][]result, len(arms))
	for s := range runs {
		runs[s] = make([]result, cfg.Runs)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.NumCPU())
	var mu sync.Mutex
	done, total := 0, len(arms)*cfg.Runs
	for s, arm := range arms {
		for r := 0; r < cfg.Runs; r++ {
			g.Go(func() error {
				res, err := benchRun(ctx, cfg, arm, cfg.Seed+uint64(r), checks)
				if err != nil {
					return fmt.Errorf("%s run %d: %w", arm.label(cfg), r, err)
				}
				mu.Lock()
				defer mu.Unlock()
				runs[s][r] = res
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
	var rows []Row
	for s, arm := range arms {
		q50 := medianQueries(runs[s])
		for c, q := range checks {
			vals := make([]float64, cfg.Runs)
			hits := 0
			for r, res := range runs[s] {
				vals[r] = res.best[c]
				if res.optimum > 0 && res.optimum <= q && cfg.Simulate == nil {
					hits++
				}
			}
			m, sd := meanStd(vals)
			rows = append(rows, Row{Strategy: arm.label(cfg), Queries: q, Mean: m, Std: sd, Runs: cfg.Runs, Hits: hits, Q50: q50})
		}
	}
	return rows, nil
}

// medianQueries is the median of the queries the runs took to reach the optimum, a
// run that never did counting as more than any; 0 when fewer than half did.
func medianQueries(runs []result) int {
	qs := make([]int, len(runs))
	for i, r := range runs {
		qs[i] = r.optimum
		if qs[i] == 0 {
			qs[i] = math.MaxInt
		}
	}
	slices.Sort(qs)
	m := qs[(len(qs)-1)/2] // the lower median: reached by at least half the runs
	if m == math.MaxInt {
		return 0
	}
	return m
}

// memo keeps a deterministic evaluator's outcomes by arch, for the runs of a
// benchmark to share.
type memo struct {
	engine.Evaluator
	mu   sync.Mutex
	seen map[string]engine.Outcome
}

func (m *memo) Evaluate(ctx context.Context, job engine.Job, p func(engine.Progress)) (engine.Outcome, error) {
	key := job.Arch.String()
	m.mu.Lock()
	out, ok := m.seen[key]
	m.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := m.Evaluator.Evaluate(ctx, job, p)
	if err == nil {
		m.mu.Lock()
		m.seen[key] = out
		m.mu.Unlock()
	}
	return out, err
}

// benchCascade is a fresh cascade (its own ladder) over the benchmark's cheaper
// rungs and the table, for one run.
func benchCascade(cfg Config, objs []engine.Objective) (*evaluators.Cascade, error) {
	var rungs []evaluators.Rung
	for _, ev := range cfg.Cascade {
		rungs = append(rungs, evaluators.Rung{Name: cfg.CascadeName, Eval: ev})
	}
	rungs = append(rungs, evaluators.Rung{Name: "table", Eval: cfg.Table})
	return evaluators.NewCascade(cfg.Eta, rungs, objs, nil)
}

// benchRun runs one search through the engine, as a real search runs, without a
// store, and returns the best value seen after each checkpoint's number of queries.
func benchRun(ctx context.Context, cfg Config, arm benchArm, seed uint64, checks []int) (result, error) {
	comp := arm.comp
	dir := "max"
	if !cfg.Maximise {
		dir = "min"
	}
	objs := []engine.Objective{{Name: cfg.Metric, Direction: dir}}
	if len(cfg.Objectives) > 1 {
		objs = cfg.Objectives
	}
	comp = comp.WithDefaults(cfg.Defaults)
	c := &engine.Config{Name: "bench", Seed: seed, Defaults: cfg.Defaults, Space: engine.Component{Name: cfg.Space.Name()}, Strategy: comp, Evaluator: engine.Component{Name: "table"},
		Objectives: objs, Budget: engine.Budget{Trials: cfg.Budget}, Parallelism: 1, Latency: cfg.Latency, Dedupe: cfg.Dedupe}
	strat, err := engine.BuildStrategy(comp, cfg.Space, seed)
	if err != nil {
		return result{}, err
	}
	if err := engine.SetObjectives(strat, objs); err != nil {
		return result{}, err
	}
	if len(objs) > 1 {
		curve, err := benchPareto(ctx, cfg, &engine.Experiment{Config: c, Space: cfg.Space, Strategy: strat, Evaluator: cfg.Table}, checks)
		return result{best: curve}, err
	}
	exp := &engine.Experiment{Config: c, Space: cfg.Space, Strategy: strat, Evaluator: cfg.Table}
	if arm.cascade {
		// The budget is the table's queries; the cheaper rungs are not counted.
		if exp.Evaluator, err = benchCascade(cfg, objs); err != nil {
			return result{}, err
		}
		c.Budget = engine.Budget{Final: cfg.Budget}
	}
	opt := engine.Options{}
	if cfg.Simulate != nil {
		c.Budget = engine.Budget{Time: cfg.TimeBudget}
		opt.Simulate = cfg.Simulate
		curve, err := benchSimulated(ctx, cfg, exp, opt, checks)
		return result{best: curve}, err
	}
	out := make([]float64, len(checks))
	best := math.Inf(-1)
	if !cfg.Maximise {
		best = math.Inf(1)
	}
	optimum, _ := cfg.Table.Best(cfg.Metric, cfg.Maximise)
	reached := 0
	n, ci := 0, 0
	observe := func(t engine.Trial) {
		if t.Stop != nil || t.Duplicate != 0 {
			return // stopped at a cheaper rung, or a duplicate: no table query
		}
		n++
		if v, ok := t.Metrics[cfg.Metric]; ok && t.State == engine.Done && ((cfg.Maximise && v > best) || (!cfg.Maximise && v < best)) {
			best = v
		}
		if reached == 0 && (cfg.Maximise && best >= optimum || !cfg.Maximise && best <= optimum) {
			reached = n
		}
		for ci < len(checks) && n == checks[ci] {
			out[ci] = best
			ci++
		}
	}
	if err := engine.New(exp, engine.Options{Observe: observe}).Run(ctx); err != nil {
		return result{}, err
	}
	if ci < len(checks) {
		// The strategy stopped early (it ran out of candidates): its best stands.
		for ; ci < len(checks); ci++ {
			out[ci] = best
		}
	}
	return result{best: out, optimum: reached}, nil
}

// benchSimulated runs one search on a simulated clock (one worker) and returns the
// best value among the trials finished by each checkpoint's simulated second.
func benchSimulated(ctx context.Context, cfg Config, exp *engine.Experiment, opt engine.Options, checks []int) ([]float64, error) {
	out := make([]float64, len(checks))
	best := math.Inf(-1)
	if !cfg.Maximise {
		best = math.Inf(1)
	}
	clock, ci := 0.0, 0
	opt.Observe = func(t engine.Trial) {
		clock += t.Metrics[engine.MetricSimulated]
		for ci < len(checks) && clock > float64(checks[ci]) {
			out[ci] = best // this trial finished after the checkpoint
			ci++
		}
		if v, ok := t.Metrics[cfg.Metric]; ok && t.Full() && ((cfg.Maximise && v > best) || (!cfg.Maximise && v < best)) {
			best = v
		}
	}
	if err := engine.New(exp, opt).Run(ctx); err != nil {
		return nil, err
	}
	for ; ci < len(checks); ci++ {
		out[ci] = best
	}
	return out, nil
}

// benchPareto runs one multi-objective search and returns the normalised hypervolume
// of its trials' Pareto front after each checkpoint's number of queries.
func benchPareto(ctx context.Context, cfg Config, exp *engine.Experiment, checks []int) ([]float64, error) {
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
	observe := func(t engine.Trial) {
		if t.Duplicate != 0 {
			return // no query
		}
		n++
		if t.State == engine.Done {
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
	if err := engine.New(exp, engine.Options{Observe: observe}).Run(ctx); err != nil {
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
