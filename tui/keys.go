package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// KeyMap is every key binding of the TUI, declared once. Each screen's help (the bar
// and ?) is made from its group below, so the bar shows the focused screen's keys.
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
	Back             key.Binding
	Help             key.Binding
	Quit             key.Binding
	Stop             key.Binding // served sessions: stop the search (q only leaves)
	Browse           key.Binding
	Objectives       key.Binding // the next pair of objectives on the Pareto chart
	Steer            key.Binding // open the steering panel

	// The editor.
	Cycle    key.Binding // ↑/↓ change the field's value (help only; Up and Down match)
	Queue    key.Binding
	TypeArch key.Binding // type or paste an arch string
	Apply    key.Binding // enter: take the typed string (an arch, a filter)

	// The steering panel.
	Change key.Binding

	// The browser.
	Open    key.Binding
	Sort    key.Binding
	Reverse key.Binding
	Show    key.Binding
	Filter  key.Binding
	Reload  key.Binding
	Clear   key.Binding // ctrl+u in a filter being typed
}

// DefaultKeys are the bindings used unless a session configures others.
func DefaultKeys() KeyMap {
	return KeyMap{
		Pause:       key.NewBinding(key.WithKeys("p", " "), key.WithHelp("p", "pause/resume")),
		PauseCancel: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "pause, cancelling running")),
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		HalfUp:      key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half a page up (typing a filter: clear it)")),
		HalfDown:    key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half a page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last")),
		Left:        key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "prev field")),
		Right:       key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "next field")),
		Edit:        key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit selected")),
		Focus:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "recent/population")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Stop:        key.NewBinding(key.WithKeys("X"), key.WithHelp("X X", "stop the search"), key.WithDisabled()),
		Browse:      key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "browse trials"), key.WithDisabled()),
		Objectives:  key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "next objective pair"), key.WithDisabled()),
		Steer:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "steer")),

		Cycle:    key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "value")),
		Queue:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "queue")),
		TypeArch: key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "type/paste arch")),
		Apply:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),

		Change: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "change")),

		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort by the next column")),
		Reverse: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "reverse the sort")),
		Show:    key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "show all/done/failed/hand/front")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter, e.g. val_accuracy > 80")),
		Reload:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reload")),
		Clear:   key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "clear the filter being typed")),
	}
}

// keyGroup is one screen's keys: the bar shows short, ? shows full.
type keyGroup struct {
	short []key.Binding
	full  [][]key.Binding
}

func (g keyGroup) ShortHelp() []key.Binding  { return g.short }
func (g keyGroup) FullHelp() [][]key.Binding { return g.full }

// Dashboard are the dashboard's keys.
func (k KeyMap) Dashboard() keyGroup {
	return keyGroup{
		short: []key.Binding{k.Pause, k.Edit, k.Steer, k.Browse, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Pause, k.PauseCancel, k.Edit, k.Steer, k.Browse}, {k.Up, k.Down, k.Focus, k.Objectives}, {k.Help, k.Stop, k.Quit}},
	}
}

// Editor are the editor's keys, and typing are those while an arch is being typed.
func (k KeyMap) Editor(typing bool) keyGroup {
	if typing {
		return keyGroup{short: []key.Binding{k.Apply, k.Back}, full: [][]key.Binding{{k.Apply, k.Back}}}
	}
	return keyGroup{
		short: []key.Binding{k.Left, k.Right, k.Cycle, k.Queue, k.TypeArch, k.Back},
		full:  [][]key.Binding{{k.Left, k.Right, k.Cycle}, {k.Queue, k.TypeArch, k.Back}, {k.Help, k.Quit}},
	}
}

// Steering are the steering panel's keys, and typing are those while a value is
// being typed.
func (k KeyMap) Steering(typing bool) keyGroup {
	if typing {
		return keyGroup{short: []key.Binding{k.Apply, k.Back}, full: [][]key.Binding{{k.Apply, k.Back}}}
	}
	return keyGroup{
		short: []key.Binding{k.Up, k.Down, k.Change, k.Back},
		full:  [][]key.Binding{{k.Up, k.Down, k.Change, k.Back}, {k.Help, k.Quit}},
	}
}

// Browser are the browser's keys.
func (k KeyMap) Browser() keyGroup {
	return keyGroup{
		short: []key.Binding{k.Up, k.Down, k.Open, k.Back, k.Sort, k.Reverse, k.Show, k.Filter, k.Reload},
		full:  [][]key.Binding{{k.Up, k.Down, k.Open, k.Back}, {k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom}, {k.Sort, k.Reverse, k.Show, k.Filter, k.Reload}},
	}
}

// screens are the groups by name, in the order docs/keys.md lists them.
func (k KeyMap) screens() []struct {
	name string
	keys keyGroup
} {
	return []struct {
		name string
		keys keyGroup
	}{{"Dashboard", k.Dashboard()}, {"Editor (e)", k.Editor(false)}, {"Steering panel (s)", k.Steering(false)}, {"Browser (b, or cellar browse)", k.Browser()}}
}

// eachKey hands a key message to press one key at a time. Letters that arrive
// together (a held-down key, or keys an SSH link or tmux sends in one write) come from
// bubbletea as one message of several runes: outside text, that many presses ("jjj"
// moves three rows); once typing() says text is being typed (the burst opened a
// filter, say), the rest is typed text. A paste stays one message.
func eachKey(msg tea.KeyMsg, typing func() bool, press func(tea.KeyMsg) tea.Cmd) tea.Cmd {
	if msg.Type != tea.KeyRunes || msg.Paste || len(msg.Runes) < 2 || typing() {
		return press(msg)
	}
	var cmds []tea.Cmd
	for i, r := range msg.Runes {
		if typing() {
			cmds = append(cmds, press(tea.KeyMsg{Type: tea.KeyRunes, Runes: msg.Runes[i:], Alt: msg.Alt}))
			break
		}
		cmds = append(cmds, press(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
	}
	return tea.Batch(cmds...)
}
