package cli

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

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
			_, err = tea.NewProgram(tui.NewBrowser(path, th, lipgloss.DefaultRenderer()), tea.WithAltScreen(), tea.WithContext(cmd.Context()),
				tea.WithInput(cmd.InOrStdin()), tea.WithOutput(cmd.OutOrStdout())).Run()
			return err
		},
	}
	cmd.Flags().StringVar(&path, "db", defaultDB, "database file (or give it as the argument)")
	themeFlag(cmd, &theme)
	return cmd
}
