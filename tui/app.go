// Package tui is cellar's terminal UI: a bubbletea program that shows a running search
// live and steers it. Styles come from themes; nothing here is shared between sessions.
package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"cellar/engine"
	"cellar/spaces"
	"cellar/themes"
)

// Engine is what the TUI needs of a running search.
type Engine interface {
	Snapshot() engine.Status
	Pause(cancelRunning bool) error
	Resume() error
	Inject(arch spaces.Arch, parent uint64) error
	Subscribe() *engine.Subscription
}

// Common is one session's shared state: styles, keys and size.
type Common struct {
	Theme         themes.Theme
	Styles        themes.Styles
	Keys          KeyMap
	Width, Height int
}

// Messages.
type (
	// eventsMsg carries the engine events read since the last one; ok is false once
	// the stream has closed (the search ended).
	eventsMsg struct {
		events []engine.Event
		ok     bool
	}
	tickMsg   time.Time
	noticeMsg string
)

// maxBatch bounds the events folded into one update, so a fast search cannot starve
// key handling; the pump is re-armed after each batch.
const maxBatch = 512

// waitEvents reads one event, blocking, then whatever else is ready: engine events
// reach the UI at the rate it can render, never one update per event.
func waitEvents(sub *engine.Subscription) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-sub.C
		if !ok {
			return eventsMsg{ok: false}
		}
		batch := []engine.Event{ev}
		for len(batch) < maxBatch {
			select {
			case ev, ok := <-sub.C:
				if !ok {
					return eventsMsg{events: batch, ok: false}
				}
				batch = append(batch, ev)
			default:
				return eventsMsg{events: batch, ok: true}
			}
		}
		return eventsMsg{events: batch, ok: true}
	}
}

// tickEvery refreshes the status (elapsed time, progress) between events.
func tickEvery() tea.Cmd {
	return tea.Tick(200*time.Millisecond, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Model is the root of the program.
type Model struct {
	common    *Common
	eng       Engine
	sub       *engine.Subscription
	dashboard *Dashboard
	editor    *Editor // the open editor; nil on the dashboard
	exp       *engine.Experiment
	help      help.Model
	notice    string
}

// New builds the program's root model for an engine, drawing with renderer r.
func New(eng Engine, exp *engine.Experiment, theme themes.Theme, r *lipgloss.Renderer) *Model {
	c := &Common{Theme: theme, Styles: theme.For(r), Keys: DefaultKeys(), Width: 80, Height: 24}
	m := &Model{common: c, eng: eng, exp: exp, sub: eng.Subscribe(), help: help.New()}
	m.dashboard = NewDashboard(c, exp)
	m.dashboard.SetStatus(eng.Snapshot())
	return m
}

func (m *Model) Init() tea.Cmd { return tea.Batch(waitEvents(m.sub), tickEvery()) }

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.common.Width, m.common.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
	case tea.KeyMsg:
		k := m.common.Keys
		switch {
		case key.Matches(msg, k.Quit):
			m.sub.Close()
			return m, tea.Quit
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
		case m.editor != nil:
			return m, m.editKey(msg)
		case key.Matches(msg, k.Up):
			m.dashboard.Select(-1)
		case key.Matches(msg, k.Down):
			m.dashboard.Select(1)
		case key.Matches(msg, k.Focus):
			m.dashboard.ToggleFocus()
		case key.Matches(msg, k.Edit):
			if t := m.dashboard.Selected(); t != nil {
				m.editor = NewEditor(m.exp.Space, t.Arch, t.ID)
			}
		case key.Matches(msg, k.Pause):
			return m, m.togglePause(false)
		case key.Matches(msg, k.PauseCancel):
			return m, m.togglePause(true)
		}
	case eventsMsg:
		m.dashboard.Apply(msg.events)
		m.dashboard.SetStatus(m.eng.Snapshot())
		if !msg.ok { // the search ended: nothing more to wait for
			return m, nil
		}
		return m, waitEvents(m.sub)
	case tickMsg:
		m.dashboard.SetStatus(m.eng.Snapshot())
		return m, tickEvery()
	case noticeMsg:
		m.notice = string(msg)
	}
	return m, nil
}

// editKey handles a key in the editor.
func (m *Model) editKey(msg tea.KeyMsg) tea.Cmd {
	k, e := m.common.Keys, m.editor
	switch {
	case key.Matches(msg, k.Back):
		m.editor = nil
	case key.Matches(msg, k.Left):
		e.Move(-1)
	case key.Matches(msg, k.Right):
		e.Move(1)
	case key.Matches(msg, k.Up):
		e.Cycle(1)
	case key.Matches(msg, k.Down):
		e.Cycle(-1)
	case key.Matches(msg, k.Queue):
		if err := e.Valid(); err != nil {
			m.notice = "not queued: " + err.Error()
			return nil
		}
		a, err := m.exp.Space.Parse([]byte(e.Arch()))
		if err != nil {
			m.notice = "not queued: " + err.Error()
			return nil
		}
		parent := e.parent
		e.queued = true
		return func() tea.Msg {
			if err := m.eng.Inject(a, parent); err != nil {
				return noticeMsg("not queued: " + err.Error())
			}
			return noticeMsg("")
		}
	}
	return nil
}

// togglePause pauses or resumes off the UI goroutine, as the engine answers after a
// round trip.
func (m *Model) togglePause(cancelRunning bool) tea.Cmd {
	paused := m.eng.Snapshot().State == engine.Paused
	return func() tea.Msg {
		var err error
		switch {
		case paused && !cancelRunning:
			err = m.eng.Resume()
		case !paused:
			err = m.eng.Pause(cancelRunning)
		}
		if err != nil {
			return noticeMsg(err.Error())
		}
		return noticeMsg("")
	}
}

func (m *Model) View() string {
	st := m.common.Styles
	// bubbles' help adds a column that overflows when not even its ellipsis fits;
	// cut each line to the width.
	lines := strings.Split(m.help.View(m.common.Keys), "\n")
	for i, l := range lines {
		lines[i] = truncate(l, m.common.Width)
	}
	footer := strings.Join(lines, "\n")
	if m.notice != "" {
		footer = st.Bad.Render(m.notice) + "  " + footer
	}
	var body string
	if m.editor != nil {
		body = lipgloss.JoinVertical(lipgloss.Left, m.dashboard.header(m.common.Width), m.editor.View(m.common, m.common.Width))
	} else {
		body = m.dashboard.View(m.common.Height - lipgloss.Height(footer))
	}
	return lipgloss.JoinVertical(lipgloss.Left, body, footer)
}
