package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/themes"
	"cellar/tui"
)

func newTUICmd(evals map[string]engine.EvaluatorFactory) *cobra.Command {
	f := searchFlags{evaluators: evals}
	var resume, theme string
	cmd := &cobra.Command{
		Use:   "tui [-c exp.yaml] [--db F] [--resume ID] [--theme dark|light]",
		Short: "Run an experiment in the terminal UI (the built-in default without -c)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			th, err := f.parseUI(resume, theme)
			if err != nil {
				return err
			}
			return runTUI(cmd, f, th)
		},
	}
	f.register(cmd, &resume)
	themeFlag(cmd, &theme)
	return cmd
}

// runTUI runs the search in the background and the UI in the foreground; quitting the
// UI stops the search, which stores what finished and a checkpoint to resume from.
func runTUI(cmd *cobra.Command, f searchFlags, theme themes.Theme) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	s, err := openSession(f)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, got, stop := onSignal(ctx)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.eng.Run(ctx) }()
	// Signals are ours (onSignal), so the exit status can say which one came.
	uiErr := tui.RunSession(ctx, s.eng, s.exp, theme, tui.SessionOptions{History: s.history, DB: s.db, User: localUser(), Workers: s.workers},
		cmd.InOrStdin(), out)
	cancel()
	runErr := <-done
	if uiErr != nil && !errors.Is(uiErr, tui.ErrInterrupted) {
		return uiErr
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	st := s.eng.Snapshot()
	fmt.Fprintf(out, "experiment %d: %s after %d trials", s.x.ID, st.State, st.Done+st.Failed)
	if st.State != engine.Finished { // a hint only where it would do something, and whole
		fmt.Fprintf(out, "; continue with cellar tui --db %s --resume %d%s", shellQuote(f.db), s.x.ID, f.nats.flags())
	}
	fmt.Fprintln(out)
	switch {
	case got() != nil:
		return stoppedBy(got())
	case errors.Is(uiErr, tui.ErrInterrupted): // Ctrl-C in the UI
		return stoppedBy(os.Interrupt)
	}
	return nil
}

// localUser names who steers from a local terminal, for the journal.
func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "local"
}
