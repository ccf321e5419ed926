package tui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is every key binding of the TUI, declared once; the help bar renders from it.
type KeyMap struct {
	Pause       key.Binding
	PauseCancel key.Binding
	Up, Down    key.Binding
	// Long lists (the browser): a page, half a page, the first and last row.
	PageUp, PageDown key.Binding
	HalfUp, HalfDown key.Binding
	Top, Bottom      key.Binding
	Left, Right      key.Binding
	Edit             key.Binding
	Focus            key.Binding
	Queue            key.Binding
	Back             key.Binding
	Help             key.Binding
	Quit             key.Binding
	Stop             key.Binding // served sessions: stop the search (q only leaves)
	Browse           key.Binding
	Objectives       key.Binding // the next pair of objectives on the Pareto chart
	Steer            key.Binding // open the steering panel
}

// DefaultKeys are the bindings used unless a session configures others.
func DefaultKeys() KeyMap {
	return KeyMap{
		Pause:       key.NewBinding(key.WithKeys("p", " "), key.WithHelp("p", "pause/resume")),
		PauseCancel: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "pause, cancelling running trials")),
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		HalfUp:      key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half a page up")),
		HalfDown:    key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half a page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last")),
		Left:        key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "previous field")),
		Right:       key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "next field")),
		Edit:        key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit the selected trial")),
		Focus:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "select in recent trials / population")),
		Queue:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "queue as a hand trial")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Stop:        key.NewBinding(key.WithKeys("X"), key.WithHelp("X X", "stop the search"), key.WithDisabled()),
		Browse:      key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "browse the DB's trials"), key.WithDisabled()),
		Objectives:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "next pair of objectives on the Pareto chart"), key.WithDisabled()),
		Steer:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "steer: population, limits, budget…")),
	}
}

// ShortHelp is the help bar.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Pause, k.Edit, k.Steer, k.Browse, k.Help, k.Quit}
}

// FullHelp is the help shown by ?.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Pause, k.PauseCancel}, {k.Up, k.Down, k.Focus, k.Edit, k.Steer, k.Browse, k.Objectives}, {k.Left, k.Right, k.Queue, k.Back}, {k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom}, {k.Help, k.Stop, k.Quit}}
}
