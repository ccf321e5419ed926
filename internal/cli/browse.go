package cli

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"cellar/themes"
	"cellar/tui"
)

func newBrowseCmd() *cobra.Command {
	var theme string
	cmd := &cobra.Command{
		Use:   "browse [DB]",
		Short: "Browse the experiments and trials of a DB offline (read-only)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := defaultDB
			if len(args) == 1 {
				path = args[0]
			}
			th, err := themes.Lookup(theme)
			if err != nil {
				return err
			}
			_, err = tea.NewProgram(tui.NewBrowser(path, th, lipgloss.DefaultRenderer()), tea.WithAltScreen(), tea.WithContext(cmd.Context())).Run()
			return err
		},
	}
	themeFlag(cmd, &theme)
	return cmd
}
