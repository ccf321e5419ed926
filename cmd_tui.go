package main

import (
	"context"
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"cellar/themes"
	"cellar/tui"
)

func newTUICmd() *cobra.Command {
	var f searchFlags
	var resume, theme string
	cmd := &cobra.Command{
		Use:   "tui [-c exp.yaml] [--db F] [--resume ID] [--theme dark|light]",
		Short: "Run an experiment in the terminal UI (the built-in default without -c)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.setResume(resume); err != nil {
				return err
			}
			th, err := themes.Lookup(theme)
			if err != nil {
				return err
			}
			return runTUI(cmd.Context(), f, th)
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "experiment file (YAML or JSON)")
	cmd.Flags().StringVar(&f.db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&resume, "resume", "", "continue experiment `ID` of the DB where it stopped")
	cmd.Flags().IntVar(&f.trials, "trials", 0, "override the budget's number of trials")
	cmd.Flags().StringVar(&theme, "theme", "dark", "colour theme: dark or light")
	return cmd
}

// runTUI runs the search in the background and the UI in the foreground; quitting the
// UI stops the search, which stores what finished and a checkpoint to resume from.
func runTUI(ctx context.Context, f searchFlags, theme themes.Theme) error {
	s, err := openSession(f)
	if err != nil {
		return err
	}
	defer s.db.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := tui.New(s.eng, s.exp, theme, lipgloss.DefaultRenderer())
	done := make(chan error, 1)
	go func() { done <- s.eng.Run(ctx) }()
	if _, err := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx)).Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		cancel()
		<-done
		return err
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	st := s.eng.Snapshot()
	fmt.Printf("experiment %d: %s after %d trials; continue with cellar tui --db %s --resume %d\n", s.x.ID, st.State, st.Done+st.Failed, f.db, s.x.ID)
	return nil
}
