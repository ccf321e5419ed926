// Package cli is cellar's command line: one file per command, each its flags, its
// wiring and its printing. main.go calls Execute.
package cli

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/suggest"
	"cellar/storage"
	"cellar/themes"
)

//go:embed default.yaml
var defaultExperiment []byte

const defaultDB = "cellar.db"

// newRoot is the command tree; evals are the evaluators experiments may name
// (evaluators.Builtin(), and in tests some of their own).
func newRoot(evals map[string]engine.EvaluatorFactory) *cobra.Command {
	rootFlags := searchFlags{evaluators: evals}
	var headless bool
	root := &cobra.Command{
		Use:           "cellar",
		Short:         "A terminal workbench for neural architecture search",
		Long:          "cellar runs neural architecture searches, keeps every trial in a bbolt file, and shows them.\nWith no command it runs the built-in default experiment into ./cellar.db: in the terminal UI\nwhen stdout is a terminal, otherwise (or with --headless) as `cellar search` does.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if headless || !term.IsTerminal(int(os.Stdout.Fd())) {
				return runSearch(cmd, rootFlags)
			}
			return runTUI(cmd, rootFlags, themes.Dark)
		},
	}
	root.SuggestionsMinimumDistance = 2
	root.SetFlagErrorFunc(suggestFlag) // inherited by every command
	root.Flags().BoolVar(&headless, "headless", false, "no terminal UI: a progress bar and a summary")
	root.Flags().StringVar(&rootFlags.db, "db", defaultDB, "database file")
	root.Flags().IntVar(&rootFlags.trials, "trials", 0, "override the budget's number of trials")
	root.AddCommand(newSearchCmd(evals), newExportCmd(), newDataCmd(), newWorkerCmd(evals), newWorkersCmd(), newTrialsCmd(), newShowCmd(), newBenchCmd(), newTrainCmd(evals), newTUICmd(evals), newBrowseCmd(), newServeCmd(evals), newLatencyCmd(),
		newReplayCmd(evals), newForkCmd(evals), newAuditCmd(), newCheckCmd(), newSalvageCmd())
	return root
}

// suggestFlag adds the nearest flag of cmd to an unknown flag's error, as cobra does
// for commands: "unknown flag: --trails; did you mean --trials?".
func suggestFlag(cmd *cobra.Command, err error) error {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	})
	if near := suggest.Nearest(name, names); near != "" {
		return fmt.Errorf("%w; did you mean --%s?", err, near)
	}
	return err
}

// unknownCommand refuses arguments to the bare cellar, which are mistyped commands:
// it names the nearest commands, as cobra does for commands with no Args of their own.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return errors.New(msg + " (cellar --help lists the commands)")
}

// openExperiment opens a DB read-only and picks an experiment: the --exp flag's id, or
// the newest when the flag is empty. A DB a search holds is read as a snapshot of its
// last commit (storage.OpenSnapshot; snapshotNote says so).
func openExperiment(path, exp string) (*storage.DB, *storage.Experiment, error) {
	var id uint64
	if exp != "" {
		var err error
		if id, err = parseID("--exp", exp); err != nil {
			return nil, nil, err
		}
	}
	db, err := storage.OpenSnapshot(path, 2*time.Second)
	if err != nil {
		return nil, nil, err
	}
	if id == 0 {
		infos, err := db.Experiments()
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		if len(infos) == 0 {
			db.Close()
			return nil, nil, fmt.Errorf("%s holds no experiments", path)
		}
		id = infos[len(infos)-1].ID
	}
	x, err := db.Experiment(id)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, x, nil
}

// snapshotNote tells, on stderr, that what a command shows is a snapshot: a search
// holds the DB and goes on writing it.
func snapshotNote(cmd *cobra.Command, d *storage.DB) {
	if at := d.Snapshot(); !at.IsZero() {
		fmt.Fprintf(cmd.ErrOrStderr(), "cellar: a search is writing %s; this is its state at %s\n", d.Path(), at.Format(time.TimeOnly))
	}
}

func parseID(what, s string) (uint64, error) {
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%s %q: expected a positive whole number", what, s)
	}
	return id, nil
}

// readFile reads an experiment file, its relative paths made absolute from the
// file's folder (engine.ResolvePaths; a built-in table's name stays a name): the experiment, stored so, resumes from
// anywhere. A file that is not YAML comes back as it is, for the parser to say why.
func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read experiment: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return b, nil
	}
	if resolved, err := engine.ResolvePaths(b, filepath.Dir(abs), evaluators.BuiltinTableNames()...); err == nil {
		return resolved, nil
	}
	return b, nil
}
