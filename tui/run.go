package tui

import (
	"context"
	"errors"
	"io"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"cellar/engine"
	"cellar/themes"
)

// ErrInterrupted is Run's error when the user pressed Ctrl-C in the UI.
var ErrInterrupted = errors.New("tui: interrupted")

// RunSession runs the UI of a search on this terminal (in, out), full screen, until
// the user quits or ctx ends. The caller owns the signals (it says which one came);
// Ctrl-C in the UI is ErrInterrupted, and ctx ending is no error.
func RunSession(ctx context.Context, eng Engine, exp *engine.Experiment, theme themes.Theme, opts SessionOptions, in io.Reader, out io.Writer) error {
	m := NewSession(eng, exp, theme, lipgloss.DefaultRenderer(), opts)
	return run(tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithInput(in), tea.WithOutput(out)))
}

// RunBrowser runs the browser of the DB at path on this terminal (in, out), full
// screen, until the user quits or ctx ends; signals and errors as RunSession.
func RunBrowser(ctx context.Context, path string, theme themes.Theme, in io.Reader, out io.Writer) error {
	b := NewBrowser(path, theme, lipgloss.DefaultRenderer())
	return run(tea.NewProgram(b, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithInput(in), tea.WithOutput(out)))
}

func run(p *tea.Program) error {
	_, err := p.Run()
	switch {
	case errors.Is(err, tea.ErrInterrupted):
		return ErrInterrupted
	case errors.Is(err, tea.ErrProgramKilled):
		return nil
	}
	return err
}
