package cli

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"cellar/engine"
	"cellar/latency"
	"cellar/nn"
	"cellar/spaces"
	"cellar/storage"
)

func newBenchCmd() *cobra.Command {
	var (
		table, strats, space, metric, csvPath string
		objectives, reference, latencyDB      string
		cascade                               string
		eta                                   float64
		simulate                              bool
		timeBudget                            time.Duration
		runs, budget                          int
		seed                                  uint64
		minimise                              bool
	)
	cmd := &cobra.Command{
		Use:   "bench --table F --strategies random,evolution,regevo,local --runs N --budget B [--csv F]",
		Short: "Benchmark strategies on a tabular benchmark (storage off)",
		Long: `Run each strategy N times (seeds S, S+1, ...) for B queries against a table such as
NAS-Bench-201's, and print the mean ± sample std of the best value found after 10, 20, 50,
100, 200, 500 ... queries and after B. Every trial counts as a query, repeats included.
--strategies takes names, or a YAML list with options:
  --strategies '[regevo, {name: regevo, warm_start: {proxy: synflow, sample: 200}}, predictor]'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if table == "" {
				return fmt.Errorf("give the table with --table F (e.g. NAS-Bench-201's cifar10.csv)")
			}
			sp, err := engine.BuildSpace(engine.NewComponent(space))
			if err != nil {
				return err
			}
			t, err := engine.LoadTable(table, sp, "")
			if err != nil {
				return err
			}
			if metric == "" {
				metric = t.Metrics()[0]
			}
			optimum, err := t.Best(metric, !minimise)
			if err != nil {
				return err
			}
			comps, err := parseComponents("--strategies", strats)
			if err != nil {
				return err
			}
			for _, c := range comps {
				if _, err := engine.BuildStrategy(c, sp, 0); err != nil {
					return fmt.Errorf("--strategies: %w", err)
				}
			}
			cfg := engine.BenchConfig{Table: t, Space: sp, Metric: metric, Maximise: !minimise, Strategies: comps, Runs: runs, Budget: budget, Seed: seed, Eta: eta}
			if simulate {
				cfg.Simulate, cfg.TimeBudget = &engine.DefaultSimTime, timeBudget
			}
			if cascade != "" {
				if cfg.Cascade, cfg.CascadeName, err = cascadeRungs(cascade, sp); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			if objectives != "" {
				if cfg.Objectives, err = parseObjectives(objectives); err != nil {
					return fmt.Errorf("--objectives: %w", err)
				}
				if cfg.Latency, err = benchLatency(latencyDB, cfg.Objectives); err != nil {
					return err
				}
				if cfg.Ideal, cfg.Reference, err = t.Bounds(sp, cfg.Objectives, cfg.Latency); err != nil {
					return err
				}
				if reference != "" {
					if cfg.Reference, err = parseFloats(reference, len(cfg.Objectives)); err != nil {
						return fmt.Errorf("--reference: %w", err)
					}
				}
			}
			start := time.Now()
			rows, err := engine.Bench(cmd.Context(), cfg, nil)
			if err != nil {
				return err
			}
			elapsed := time.Since(start)
			queries := len(comps) * runs * budget
			if len(cfg.Cascade) > 0 {
				queries *= 2 // each strategy alone and through the cascade
			}
			if len(cfg.Objectives) > 1 {
				refFrom := "the table's worst"
				if reference != "" {
					refFrom = "given"
				}
				fmt.Fprintf(w, "hypervolume of the Pareto front over %s on %s, as a fraction of the box from the reference %v (%s) to the ideal %v (the table's best); %d runs x %d queries per strategy, seeds %d..%d\n",
					objectives, table, cfg.Reference, refFrom, cfg.Ideal, runs, budget, seed, seed+uint64(runs)-1)
			} else if simulate {
				fmt.Fprintf(w, "%s on %s (%d archs; optimum %.4f), %d runs x %v of simulated training per strategy, seeds %d..%d\n",
					metric, table, t.Len(), optimum, runs, timeBudget, seed, seed+uint64(runs)-1)
			} else {
				fmt.Fprintf(w, "%s on %s (%d archs; optimum %.4f), %d runs x %d queries per strategy, seeds %d..%d\n",
					metric, table, t.Len(), optimum, runs, budget, seed, seed+uint64(runs)-1)
			}
			digits := 2
			if len(cfg.Objectives) > 1 {
				digits = 4
			}
			if simulate {
				charge := fmt.Sprintf("3 x FLOPs x %d samples x %d epochs at %.0e FLOP/s (the table has no %s column)",
					engine.DefaultSimTime.Samples, engine.DefaultSimTime.Epochs, engine.DefaultSimTime.Rate, engine.DefaultSimTime.Column)
				if slices.Contains(t.Metrics(), engine.DefaultSimTime.Column) {
					charge = "the table's " + engine.DefaultSimTime.Column
				}
				fmt.Fprintf(w, "each trial is charged %s; best at simulated seconds:\n", charge)
			}
			printBench(w, rows, cfg.Checkpoints(), digits)
			if simulate {
				fmt.Fprintf(w, "in %s\n", elapsed.Round(time.Millisecond))
			} else {
				fmt.Fprintf(w, "%d queries in %s: %.0f queries/min\n", queries, elapsed.Round(time.Millisecond), float64(queries)/elapsed.Minutes())
			}
			if csvPath != "" {
				unit := "queries"
				if simulate {
					unit = "simulated_seconds"
				}
				return writeBenchCSV(csvPath, metric, unit, rows)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "CSV table: an arch column and metric columns")
	f.StringVar(&strats, "strategies", "random,evolution,regevo,local,predictor,reinforce", "comma-separated strategies")
	f.StringVar(&objectives, "objectives", "", "several objectives, e.g. test_accuracy:max,params:min,latency:min (params, flops and latency from the IR): compare hypervolumes")
	f.StringVar(&latencyDB, "db", "", "database holding this machine's latency table (cellar latency build), for a latency objective")
	f.StringVar(&reference, "reference", "", "the hypervolume's reference point, one value per objective (default: the table's worst)")
	f.StringVar(&space, "space", "nb201", "the space the table's archs belong to")
	f.StringVar(&metric, "metric", "", "metric column to optimise (default: the first)")
	f.BoolVar(&minimise, "minimise", false, "minimise the metric instead of maximising it")
	f.IntVar(&runs, "runs", 100, "runs per strategy")
	f.IntVar(&budget, "budget", 300, "queries per run")
	f.Uint64Var(&seed, "seed", 1, "seed of the first run")
	f.StringVar(&csvPath, "csv", "", "also write the results to this CSV `file`")
	f.StringVar(&cascade, "cascade", "", "cheaper rungs before the table, e.g. '[{name: zerocost, proxies: [synflow]}]': each strategy also runs through this cascade, at equal table queries")
	f.Float64Var(&eta, "eta", 3, "with --cascade: the best 1/eta of each rung goes on")
	f.BoolVar(&simulate, "simulate-time", false, "compare at equal simulated training time (--time-budget) instead of queries: the table's train_seconds, or a FLOPs model")
	f.DurationVar(&timeBudget, "time-budget", 12000*time.Second, "with --simulate-time: simulated time per run")
	cmd.AddCommand(newBenchProxiesCmd(), newBenchOneShotCmd())
	return cmd
}

// cascadeRungs builds the evaluators --cascade lists, and names them for the report.
func cascadeRungs(flag string, sp spaces.Space) ([]engine.Evaluator, string, error) {
	comps, err := parseComponents("--cascade", flag)
	if err != nil {
		return nil, "", err
	}
	factories := engine.Evaluators()
	var evs []engine.Evaluator
	var names []string
	for i, c := range comps {
		f, ok := factories[c.Name]
		if !ok {
			return nil, "", fmt.Errorf("--cascade: rung %d: unknown evaluator %q", i, c.Name)
		}
		ev, err := f(c, sp)
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
// accuracies, 4 for normalised hypervolumes).
func printBench(w interface{ Write([]byte) (int, error) }, rows []engine.BenchRow, checks []int, digits int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "strategy\t")
	for _, q := range checks {
		fmt.Fprintf(tw, "%d\t", q)
	}
	fmt.Fprintln(tw)
	for i := 0; i < len(rows); i += len(checks) {
		fmt.Fprintf(tw, "%s\t", rows[i].Strategy)
		for _, r := range rows[i : i+len(checks)] {
			fmt.Fprintf(tw, "%.*f ± %.*f\t", digits, r.Mean, digits, r.Std)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// writeBenchCSV writes one line per row; unit names the checkpoint column (queries,
// or simulated_seconds).
func writeBenchCSV(path, metric, unit string, rows []engine.BenchRow) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench csv: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"strategy", unit, "metric", "mean", "std", "runs"})
	for _, r := range rows {
		w.Write([]string{r.Strategy, fmt.Sprint(r.Queries), metric, fmt.Sprintf("%.4f", r.Mean), fmt.Sprintf("%.4f", r.Std), fmt.Sprint(r.Runs)})
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
