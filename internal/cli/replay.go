package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/storage"
)

// journalled reads what a replay or a fork needs of a stored experiment: its config,
// its final trials by id, and its journal, which must not be empty.
func journalled(db *storage.DB, x *storage.Experiment) (*engine.Config, []byte, map[uint64]engine.Trial, []engine.Entry, error) {
	src, err := x.Source()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cfg, err := engine.ParseConfig(src)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("experiment %d: %w", x.ID, err)
	}
	if cfg.Latency, err = latencyTable(db, cfg); err != nil {
		return nil, nil, nil, nil, err
	}
	journal, err := x.Journal()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if len(journal) == 0 {
		return nil, nil, nil, nil, fmt.Errorf("experiment %d has no journal: it was run before cellar kept one, or ran no trial", x.ID)
	}
	trials, err := x.Trials()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	byID := map[uint64]engine.Trial{}
	for _, t := range trials {
		if t.Final() {
			byID[t.ID] = t
		}
	}
	return cfg, src, byID, journal, nil
}

func newReplayCmd() *cobra.Command {
	var (
		db, exp     string
		parallelism int
		asJSON      bool
	)
	cmd := &cobra.Command{
		Use:   "replay --db F --exp ID [--parallelism N] [--json]",
		Short: "Run a stored experiment again from its journal and check that it gives the same trials",
		Long: `Replay rebuilds the experiment from its stored config and seed and follows its journal:
every ask of the strategy, hand-made trial and steering change happens at the same point as in
the original, whatever the timing of the evaluations, and each trial is evaluated again (a trial
that stopped early stops where it did). It stores nothing, and reports every trial whose arch,
origin, state, stop or metrics differ from the original (wall-clock metrics, *_seconds, aside).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sdb, x, err := openExperiment(db, exp)
			if err != nil {
				return err
			}
			defer sdb.Close()
			cfg, src, original, journal, err := journalled(sdb, x)
			if err != nil {
				return err
			}
			if parallelism > 0 {
				cfg.Parallelism = parallelism
			}
			built, err := engine.Build(cfg, src, evaluators())
			if err != nil {
				return fmt.Errorf("experiment %d: %w", x.ID, err)
			}
			replayed := map[uint64]engine.Trial{}
			start := time.Now()
			eng := engine.New(built, engine.Options{Script: &engine.Script{Entries: journal, Original: original},
				Observe: func(t engine.Trial) { replayed[t.ID] = t }})
			if err := eng.Run(cmd.Context()); err != nil {
				return fmt.Errorf("replay of experiment %d: %w", x.ID, err)
			}
			diffs := compareTrials(original, replayed)
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"experiment": x.ID, "trials": len(original), "replayed": len(replayed), "parallelism": cfg.Parallelism, "differences": diffs}); err != nil {
					return err
				}
			} else {
				steers, hands := 0, 0
				for _, en := range journal {
					steers += b2i(en.Op == engine.OpSteer)
					hands += b2i(en.Op == engine.OpInject)
				}
				fmt.Fprintf(w, "replayed experiment %d (%s): %d journal entries (%d steering changes, %d hand-made trials), parallelism %d, in %s\n",
					x.ID, cfg.Name, len(journal), steers, hands, cfg.Parallelism, time.Since(start).Round(time.Millisecond))
				for _, d := range diffs[:min(len(diffs), 20)] {
					fmt.Fprintf(w, "  %s\n", d)
				}
			}
			if len(diffs) > 0 {
				return fmt.Errorf("the replay differs from the original in %d of %d trials", len(diffs), len(original))
			}
			if !asJSON {
				fmt.Fprintf(w, "all %d trials match the original: archs, origins, states, stops and metrics\n", len(original))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&exp, "exp", "", "experiment `ID` (default: the newest)")
	cmd.Flags().IntVar(&parallelism, "parallelism", 0, "evaluate this many trials at once (default: the experiment's)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the comparison as JSON")
	return cmd
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareTrials lists, by trial id, how the replayed trials differ from the original
// ones. Metrics named *_seconds measure wall-clock time and are not compared.
func compareTrials(original, replayed map[uint64]engine.Trial) []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(original)) {
		o, r := original[id], replayed[id]
		if _, ok := replayed[id]; !ok {
			out = append(out, fmt.Sprintf("trial %d: not replayed", id))
			continue
		}
		var what []string
		if o.Arch != r.Arch {
			what = append(what, fmt.Sprintf("arch %s, was %s", r.Arch, o.Arch))
		}
		if o.Origin != r.Origin || o.Status() != r.Status() {
			what = append(what, fmt.Sprintf("%s %s, was %s %s", r.Origin, r.Status(), o.Origin, o.Status()))
		}
		if (o.Stop == nil) != (r.Stop == nil) || (o.Stop != nil && (o.Stop.Rung != r.Stop.Rung || o.Stop.Epoch != r.Stop.Epoch)) {
			what = append(what, fmt.Sprintf("stop %+v, was %+v", r.Stop, o.Stop))
		}
		for _, m := range slices.Sorted(maps.Keys(o.Metrics)) {
			if strings.HasSuffix(m, "_seconds") {
				continue
			}
			v, ok := r.Metrics[m]
			if !ok || (v != o.Metrics[m] && !(math.IsNaN(v) && math.IsNaN(o.Metrics[m]))) {
				what = append(what, fmt.Sprintf("%s %v, was %v", m, v, o.Metrics[m]))
			}
		}
		if len(what) > 0 {
			out = append(out, fmt.Sprintf("trial %d: %s", id, strings.Join(what, "; ")))
		}
	}
	return out
}

func newForkCmd() *cobra.Command {
	var f searchFlags
	var exp string
	cmd := &cobra.Command{
		Use:   "fork --db F --exp ID --at TRIAL",
		Short: "Start a new experiment from a stored one as it was after a trial",
		Long: `Fork creates a new experiment with the stored one's config and its trials up to TRIAL,
rebuilt by following the journal with the stored outcomes (nothing is evaluated again), so its
strategy is exactly where the original's was after telling TRIAL; then it searches on by itself,
headless, as cellar search does, until the budget is spent. Trials asked before that point but
finished after it are evaluated anew.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if exp == "" || f.forkAt == 0 {
				return errors.New("give the experiment and the trial to fork at: --exp ID --at TRIAL")
			}
			var err error
			if f.forkFrom, err = parseID("--exp", exp); err != nil {
				return err
			}
			return runSearch(cmd, f)
		},
	}
	cmd.Flags().StringVar(&f.db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&exp, "exp", "", "experiment `ID` to fork")
	cmd.Flags().Uint64Var(&f.forkAt, "at", 0, "the last `TRIAL` the fork keeps")
	cmd.Flags().IntVar(&f.trials, "trials", 0, "override the budget's number of trials")
	cmd.Flags().BoolVar(&f.events, "events", false, "print every finished trial as a JSON line on stdout")
	cmd.Flags().BoolVar(&f.noProgress, "no-progress", false, "no progress bar")
	return cmd
}

// forkScript checks the fork point and makes the script that rebuilds the history.
func forkScript(db *storage.DB, f searchFlags) ([]byte, *engine.Script, string, error) {
	x, err := db.Experiment(f.forkFrom)
	if err != nil {
		return nil, nil, "", err
	}
	cfg, src, original, journal, err := journalled(db, x)
	if err != nil {
		return nil, nil, "", err
	}
	told := slices.IndexFunc(journal, func(en engine.Entry) bool { return en.Op == engine.OpTell && en.Trial == f.forkAt })
	if told < 0 {
		return nil, nil, "", fmt.Errorf("--at %d: experiment %d never told trial %d (it has %d final trials)", f.forkAt, x.ID, f.forkAt, len(original))
	}
	name := fmt.Sprintf("%s (fork of %d at %d)", cfg.Name, x.ID, f.forkAt)
	return src, &engine.Script{Entries: journal[:told+1], Original: original, Reuse: true, Until: f.forkAt}, name, nil
}

func newAuditCmd() *cobra.Command {
	var (
		db, exp string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "audit --db F --exp ID [--json]",
		Short: "List the changes made to a search while it ran: steering and hand-made trials",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sdb, x, err := openExperiment(db, exp)
			if err != nil {
				return err
			}
			defer sdb.Close()
			journal, err := x.Journal()
			if err != nil {
				return err
			}
			var audit []engine.Entry
			for _, en := range journal {
				if en.Op == engine.OpSteer || en.Op == engine.OpInject {
					audit = append(audit, en)
				}
			}
			return printAudit(cmd.OutOrStdout(), audit, asJSON)
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&exp, "exp", "", "experiment `ID` (default: the newest)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON array of entries")
	return cmd
}

func printAudit(w io.Writer, audit []engine.Entry, asJSON bool) error {
	if asJSON {
		if audit == nil {
			audit = []engine.Entry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(audit)
	}
	if len(audit) == 0 {
		fmt.Fprintln(w, "no steering changes and no hand-made trials")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "time\twho\tat trial\tchange")
	for _, en := range audit {
		who := en.Who
		if who == "" {
			who = "-"
		}
		change := fmt.Sprintf("%s %v -> %v", en.Param, en.Old, en.New)
		if en.Op == engine.OpInject {
			change = "hand-made " + en.Arch
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", en.Time.Local().Format("2006-01-02 15:04:05"), who, en.Trial, change)
	}
	return tw.Flush()
}
