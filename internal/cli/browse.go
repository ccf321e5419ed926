package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"cellar/storage"
	"cellar/themes"
	"cellar/tui"
)

func newBrowseCmd() *cobra.Command {
	var theme, path string
	cmd := &cobra.Command{
		Use:   "browse [--db F | F]",
		Short: "Browse the experiments and trials of a DB offline (read-only)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("db") && args[0] != path {
					return fmt.Errorf("two databases: --db %s and %s; give one", path, args[0])
				}
				path = args[0]
			}
			th, err := themes.Lookup(theme)
			if err != nil {
				return err
			}
			// A file that is not there, or not a cellar DB, is said here, before the
			// screen is taken; one a search holds is browsed as it allows.
			if db, err := storage.OpenReadOnly(path, 100*time.Millisecond); err == nil {
				db.Close()
			} else if !errors.Is(err, storage.ErrInUse) {
				return err
			}
			// Signals are ours, so the exit status says which one came (130, 143).
			ctx, got, stop := onSignal(cmd.Context())
			defer stop()
			err = tui.RunBrowser(ctx, path, th, cmd.InOrStdin(), cmd.OutOrStdout())
			switch {
			case got() != nil:
				return stoppedBy(got())
			case errors.Is(err, tui.ErrInterrupted): // Ctrl-C in the UI
				return stoppedBy(os.Interrupt)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&path, "db", defaultDB, "database file (or give it as the argument)")
	themeFlag(cmd, &theme)
	return cmd
}
