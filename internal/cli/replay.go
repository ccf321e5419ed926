package cli

import (
	"encoding/json"
	"fmt"
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

func newReplayCmd(evals map[string]engine.EvaluatorFactory) *cobra.Command {
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
			built, err := engine.Build(cfg, src, evals)
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
			diffs := engine.CompareTrials(original, replayed)
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
