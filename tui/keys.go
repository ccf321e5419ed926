package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key binding of the TUI, declared once; the help bar renders from it.
type KeyMap struct {
	Pause       key.Binding
	PauseCancel key.Binding
	Help        key.Binding
	Quit        key.Binding
}

// DefaultKeys are the bindings used unless a session configures others.
func DefaultKeys() KeyMap {
	return KeyMap{
		Pause:       key.NewBinding(key.WithKeys("p", " "), key.WithHelp("p", "pause/resume")),
		PauseCancel: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "pause, cancelling running trials")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the help bar.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Pause, k.Help, k.Quit} }

// FullHelp is the help shown by ?.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Pause, k.PauseCancel}, {k.Help, k.Quit}}
}
