package cli

import (
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/storage"
)

func newForkCmd(evals map[string]engine.EvaluatorFactory) *cobra.Command {
	f := searchFlags{evaluators: evals}
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
