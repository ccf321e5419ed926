package cli

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"cellar/bench"
	"cellar/engine"
	"cellar/evaluators"
	"cellar/latency"
	"cellar/nn"
	"cellar/spaces"
	"cellar/storage"
)

// benchFlags are bench's flags.
type benchFlags struct {
	table, strats, space, metric, csvPath string
	objectives, reference, latencyDB      string
	cascade, dedupe                       string
	eta                                   float64
	simulate                              bool
	timeBudget                            time.Duration
	runs, budget, defaults                int
	seed                                  uint64
	minimise                              bool
}

func newBenchCmd() *cobra.Command {
	var b benchFlags
	cmd := &cobra.Command{
		Use:   "bench --table F --strategies random,evolution,regevo,local --runs N --budget B [--csv F]",
		Short: "Benchmark strategies on a tabular benchmark (storage off)",
		Long: `Run each strategy N times (seeds S, S+1, ...) for B queries against a table such as
NAS-Bench-201's, and print the mean ± sample std of the best value found after 10, 20, 50,
100, 200, 500 ... queries and after B, then how many runs reached the table's optimum
(hit@B) and the median queries they took (q50). Every evaluation counts as a query;
with --dedupe function (the default, as for a new experiment) or arch, a trial the
strategy asks again is a duplicate of the first and costs none (--dedupe none: every
trial counts, repeats included). --defaults 0 runs the strategies with the defaults
of experiments made before the current ones (no dedupe; the predictor without its
zero-cost warm start, features and local search).
--strategies takes names, or a YAML list with options:
  --strategies '[regevo, {name: regevo, warm_start: {proxy: synflow, sample: 200}}, predictor]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := b.config()
			if err != nil {
				return err
			}
			start := time.Now()
			rows, err := bench.Run(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			b.report(cmd.OutOrStdout(), cfg, rows, time.Since(start))
			if b.csvPath != "" {
				unit := "queries"
				if b.simulate {
					unit = "simulated_seconds"
				}
				return writeBenchCSV(b.csvPath, cfg.Metric, unit, rows)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&b.table, "table", "", "CSV table (an arch column and metric columns), or nb201 for the built-in NAS-Bench-201 CIFAR-10 table")
	f.StringVar(&b.strats, "strategies", "random,evolution,regevo,local,predictor,reinforce", "comma-separated strategies")
	f.StringVar(&b.objectives, "objectives", "", "several objectives, e.g. test_accuracy:max,params:min,latency:min (params, flops and latency from the IR): compare hypervolumes")
	f.StringVar(&b.latencyDB, "db", "", "database holding this machine's latency table (cellar latency build), for a latency objective")
	f.StringVar(&b.reference, "reference", "", "the hypervolume's reference point, one value per objective (default: the table's worst)")
	f.StringVar(&b.space, "space", "nb201", "the space the table's archs belong to")
	f.StringVar(&b.metric, "metric", "", "metric column to optimise (default: the first)")
	f.BoolVar(&b.minimise, "minimise", false, "minimise the metric instead of maximising it")
	f.IntVar(&b.runs, "runs", 100, "runs per strategy")
	f.IntVar(&b.budget, "budget", 300, "queries per run")
	f.Uint64Var(&b.seed, "seed", 1, "seed of the first run")
	f.StringVar(&b.dedupe, "dedupe", "", "trials not evaluated again but recorded as duplicates, at no query: function, arch or none (default: the --defaults' own, function since 1)")
	f.IntVar(&b.defaults, "defaults", engine.CurrentDefaults, "the generation of defaults the strategies take, as an experiment's defaults key: 0 is those of experiments made before dedupe and the zero-cost predictor")
	f.StringVar(&b.csvPath, "csv", "", "also write the results to this CSV `file`")
	f.StringVar(&b.cascade, "cascade", "", "cheaper rungs before the table, e.g. '[{name: zerocost, proxies: [synflow]}]': each strategy also runs through this cascade, at equal table queries")
	f.Float64Var(&b.eta, "eta", 3, "with --cascade: the best 1/eta of each rung goes on")
	f.BoolVar(&b.simulate, "simulate-time", false, "compare at equal simulated training time (--time-budget) instead of queries: the table's train_seconds, or a FLOPs model")
	f.DurationVar(&b.timeBudget, "time-budget", 12000*time.Second, "with --simulate-time: simulated time per run")
	cmd.AddCommand(newBenchProxiesCmd(), newBenchOneShotCmd(), newBenchGroundTruthCmd(), newBenchDartsCmd())
	return cmd
}

// config reads the table and builds the benchmark the flags describe.
func (b *benchFlags) config() (bench.Config, error) {
	var cfg bench.Config
	if b.table == "" {
		return cfg, fmt.Errorf("give the table with --table F: a CSV file, or nb201 for the built-in NAS-Bench-201 CIFAR-10 table")
	}
	sp, err := engine.BuildSpace(engine.NewComponent(b.space))
	if err != nil {
		return cfg, err
	}
	t, err := evaluators.LoadTable(b.table, sp, "")
	if err != nil {
		return cfg, err
	}
	metric := b.metric
	if metric == "" {
		metric = t.Metrics()[0]
	}
	if _, err := t.Best(metric, !b.minimise); err != nil {
		return cfg, err
	}
	comps, err := parseComponents("--strategies", b.strats)
	if err != nil {
		return cfg, err
	}
	for _, c := range comps {
		if _, err := engine.BuildStrategy(c, sp, 0); err != nil {
			return cfg, fmt.Errorf("--strategies: %w", err)
		}
	}
	cfg = bench.Config{Table: t, Space: sp, Metric: metric, Maximise: !b.minimise, Strategies: comps, Runs: b.runs, Budget: b.budget, Seed: b.seed, Eta: b.eta, Dedupe: b.dedupe, Defaults: b.defaults}
	if cfg.Dedupe == "" {
		cfg.Dedupe = engine.DedupeNone
		if b.defaults >= 1 {
			cfg.Dedupe = engine.DefaultDedupe
		}
	}
	if b.defaults < 0 || b.defaults > engine.CurrentDefaults {
		return cfg, fmt.Errorf("--defaults %d: from 0 to %d", b.defaults, engine.CurrentDefaults)
	}
	if b.simulate {
		cfg.Simulate, cfg.TimeBudget = &engine.DefaultSimTime, b.timeBudget
	}
	if b.cascade != "" {
		if cfg.Cascade, cfg.CascadeName, err = cascadeRungs(b.cascade, sp); err != nil {
			return cfg, err
		}
	}
	if b.objectives == "" {
		return cfg, nil
	}
	if cfg.Objectives, err = parseObjectives(b.objectives); err != nil {
		return cfg, fmt.Errorf("--objectives: %w", err)
	}
	if cfg.Latency, err = benchLatency(b.latencyDB, cfg.Objectives); err != nil {
		return cfg, err
	}
	if cfg.Ideal, cfg.Reference, err = t.Bounds(sp, cfg.Objectives, cfg.Latency); err != nil {
		return cfg, err
	}
	if b.reference != "" {
		if cfg.Reference, err = parseFloats(b.reference, len(cfg.Objectives)); err != nil {
			return cfg, fmt.Errorf("--reference: %w", err)
		}
	}
	return cfg, nil
}

// report prints what the benchmark measured, with what it was measured on.
func (b *benchFlags) report(w io.Writer, cfg bench.Config, rows []bench.Row, elapsed time.Duration) {
	t, seeds := cfg.Table, fmt.Sprintf("seeds %d..%d", b.seed, b.seed+uint64(b.runs)-1)
	optimum, _ := t.Best(cfg.Metric, cfg.Maximise) // config checked the metric
	switch {
	case len(cfg.Objectives) > 1:
		refFrom := "the table's worst"
		if b.reference != "" {
			refFrom = "given"
		}
		fmt.Fprintf(w, "hypervolume of the Pareto front over %s on %s, as a fraction of the box from the reference %v (%s) to the ideal %v (the table's best); %d runs x %d queries per strategy, %s\n",
			b.objectives, b.table, cfg.Reference, refFrom, cfg.Ideal, b.runs, b.budget, seeds)
	case b.simulate:
		fmt.Fprintf(w, "%s on %s (%d archs; optimum %.4f), %d runs x %v of simulated training per strategy, %s\n",
			cfg.Metric, b.table, t.Len(), optimum, b.runs, b.timeBudget, seeds)
	default:
		fmt.Fprintf(w, "%s on %s (%d archs; optimum %.4f), %d runs x %d queries per strategy, %s; defaults %d, dedupe %s\n",
			cfg.Metric, b.table, t.Len(), optimum, b.runs, b.budget, seeds, cfg.Defaults, cfg.Dedupe)
	}
	digits := 2
	if len(cfg.Objectives) > 1 {
		digits = 4
	}
	if b.simulate {
		charge := fmt.Sprintf("3 x FLOPs x %d samples x %d epochs at %.0e FLOP/s (the table has no %s column)",
			engine.DefaultSimTime.Samples, engine.DefaultSimTime.Epochs, engine.DefaultSimTime.Rate, engine.DefaultSimTime.Column)
		if slices.Contains(t.Metrics(), engine.DefaultSimTime.Column) {
			charge = "the table's " + engine.DefaultSimTime.Column
		}
		fmt.Fprintf(w, "each trial is charged %s; best at simulated seconds:\n", charge)
	}
	printBench(w, rows, cfg.Checkpoints(), digits, len(cfg.Objectives) < 2 && !b.simulate)
	if b.simulate {
		fmt.Fprintf(w, "in %s\n", elapsed.Round(time.Millisecond))
		return
	}
	queries := len(cfg.Strategies) * b.runs * b.budget
	if len(cfg.Cascade) > 0 {
		queries *= 2 // each strategy alone and through the cascade
	}
	fmt.Fprintf(w, "%d queries in %s: %.0f queries/min\n", queries, elapsed.Round(time.Millisecond), float64(queries)/elapsed.Minutes())
}

// cascadeRungs builds the evaluators --cascade lists, and names them for the report.
func cascadeRungs(flag string, sp spaces.Space) ([]engine.Evaluator, string, error) {
	comps, err := parseComponents("--cascade", flag)
	if err != nil {
		return nil, "", err
	}
	factories := evaluators.Builtin()
	var evs []engine.Evaluator
	var names []string
	for i, c := range comps {
		f, ok := factories[c.Name]
		if !ok {
			return nil, "", fmt.Errorf("--cascade: rung %d: unknown evaluator %q", i, c.Name)
		}
		ev, err := f(c, engine.EvaluatorEnv{Space: sp, Factories: factories})
		if err != nil {
			return nil, "", fmt.Errorf("--cascade: rung %d: %w", i, err)
		}
		evs = append(evs, ev)
		names = append(names, c.Label())
	}
	return evs, strings.Join(names, " → "), nil
}

// parseComponents reads a flag listing components (--strategies, --spaces): names
// separated by commas, or a YAML list whose items may carry options, e.g.
// '[regevo, {name: regevo, warm_start: {proxy: synflow}}]'.
func parseComponents(flag, s string) ([]engine.Component, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var comps []engine.Component
		if err := yaml.Unmarshal([]byte(s), &comps); err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		if len(comps) == 0 {
			return nil, fmt.Errorf("%s: an empty list", flag)
		}
		return comps, nil
	}
	var comps []engine.Component
	for _, name := range strings.Split(s, ",") {
		comps = append(comps, engine.NewComponent(strings.TrimSpace(name)))
	}
	return comps, nil
}

// printBench writes the rows as a table, values with digits after the point (2 for
// accuracies, 4 for normalised hypervolumes). With hits, two more columns: hit@B, the
// runs that reached the table's optimum within the budget B, and q50, the median
// queries to reach it (>B: fewer than half the runs did).
func printBench(w interface{ Write([]byte) (int, error) }, rows []bench.Row, checks []int, digits int, hits bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "strategy\t")
	for _, q := range checks {
		fmt.Fprintf(tw, "%d\t", q)
	}
	budget := checks[len(checks)-1]
	if hits {
		fmt.Fprintf(tw, "hit@%d\tq50\t", budget)
	}
	fmt.Fprintln(tw)
	for i := 0; i < len(rows); i += len(checks) {
		fmt.Fprintf(tw, "%s\t", rows[i].Strategy)
		for _, r := range rows[i : i+len(checks)] {
			fmt.Fprintf(tw, "%.*f ± %.*f\t", digits, r.Mean, digits, r.Std)
		}
		if last := rows[i+len(checks)-1]; hits {
			q50 := fmt.Sprint(last.Q50)
			if last.Q50 == 0 {
				q50 = fmt.Sprintf(">%d", budget)
			}
			fmt.Fprintf(tw, "%d/%d\t%s\t", last.Hits, last.Runs, q50)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// writeBenchCSV writes one line per row; unit names the checkpoint column (queries,
// or simulated_seconds).
func writeBenchCSV(path, metric, unit string, rows []bench.Row) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench csv: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"strategy", unit, "metric", "mean", "std", "runs", "hits", "q50"})
	for _, r := range rows {
		w.Write([]string{r.Strategy, fmt.Sprint(r.Queries), metric, fmt.Sprintf("%.4f", r.Mean), fmt.Sprintf("%.4f", r.Std), fmt.Sprint(r.Runs),
			fmt.Sprint(r.Hits), fmt.Sprint(r.Q50)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("bench csv: %w", err)
	}
	return f.Close()
}

// parseObjectives reads "name:max,name:min,...".
func parseObjectives(s string) ([]engine.Objective, error) {
	var out []engine.Objective
	for _, part := range strings.Split(s, ",") {
		name, dir, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || name == "" || (dir != "max" && dir != "min") {
			return nil, fmt.Errorf("%q: want name:max or name:min", part)
		}
		out = append(out, engine.Objective{Name: name, Direction: dir})
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("give two or more objectives")
	}
	return out, nil
}

// parseFloats reads n comma-separated numbers.
func parseFloats(s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("%d values for %d objectives", len(parts), n)
	}
	out := make([]float64, n)
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i+1, err)
		}
		out[i] = v
	}
	return out, nil
}

// benchLatency loads this machine's latency table from path when an objective is
// latency.
func benchLatency(path string, objs []engine.Objective) (*latency.Table, error) {
	cfg := &engine.Config{Objectives: objs}
	if !cfg.NeedsLatency() {
		return nil, nil
	}
	if path == "" {
		return nil, errors.New("--objectives: latency is estimated from this machine's latency table: give the database holding it with --db F (see cellar latency build)")
	}
	db, err := storage.OpenReadOnly(path, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	t, err := latencyTable(db, cfg)
	if err == nil && t == nil {
		err = fmt.Errorf("%s holds no latency table for this machine (%s): run cellar latency build --db %s", path, latency.ThisMachine(nn.Backend()).Key(), path)
	}
	return t, err
}
