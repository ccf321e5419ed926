// Package tui is cellar's terminal UI: a bubbletea program that shows a running search
// live and steers it. Styles come from themes; nothing here is shared between sessions.
package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"cellar/engine"
	"cellar/spaces"
	"cellar/storage"
	"cellar/themes"
)

// Engine is what the TUI needs of a running search.
type Engine interface {
	Snapshot() engine.Status
	Pause(cancelRunning bool) error
	Resume() error
	InjectAs(who string, arch spaces.Arch, parent uint64) error
	Steer(who, param string, v float64) error
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
	editor    *Editor     // the open editor; nil on the dashboard
	steering  *steerPanel // the open steering panel; nil when closed
	exp       *engine.Experiment
	help      help.Model
	notice    string
	// noticed is when the notice was set, and shown the notice it was set for: a
	// notice goes after noticeFor, or at the next key.
	noticed   time.Time
	shown     string
	opts      SessionOptions
	stopAsked bool // X was pressed once: the next X stops the search
	quitAsked bool // q was pressed once while the search runs: the next q quits
	// Until the history has arrived, events are held; after, those it covers are
	// dropped.
	historyIn bool
	held      []engine.Event
	covered   uint64
	browser   *Browser // open over the dashboard; nil when closed
}

// SessionOptions are what differs between the sessions that share one search when
// it is served over SSH.
type SessionOptions struct {
	// Viewer sessions watch the search but cannot pause, resume, edit or queue.
	Viewer bool
	// Who names the session's user and role in the footer, e.g. "alice (viewer)".
	Who string
	// User is the name the journal records for this session's changes.
	User string
	// Stop stops the search (X twice). When it is set, q only leaves the session;
	// without it (a local TUI) q quits and the caller stops the search.
	Stop func()
	// History returns the trials finished before the session began (a resumed
	// search's, or a served one's that a session joins late) and the Seq of the last
	// event they cover: later events with a Seq at or below it are dropped.
	History func() ([]engine.Trial, uint64, error)
	// DB is the search's open DB, browsed with b from the session; nil turns b off.
	DB *storage.DB
	// Workers, when the trials run on workers (NATS), are those heard of lately.
	Workers func() []Worker
}

// New builds the program's root model for an engine, drawing with renderer r.
func New(eng Engine, exp *engine.Experiment, theme themes.Theme, r *lipgloss.Renderer) *Model {
	return NewSession(eng, exp, theme, r, SessionOptions{})
}

// NewSession builds the root model of one of several sessions on a running search.
func NewSession(eng Engine, exp *engine.Experiment, theme themes.Theme, r *lipgloss.Renderer, opts SessionOptions) *Model {
	c := &Common{Theme: theme, Styles: theme.For(r), Keys: DefaultKeys(), Width: 80, Height: 24}
	if opts.Stop != nil {
		c.Keys.Quit.SetHelp("q", "leave (the search runs on)")
		c.Keys.Stop.SetEnabled(!opts.Viewer)
	}
	c.Keys.Browse.SetEnabled(opts.DB != nil)
	m := &Model{common: c, eng: eng, exp: exp, sub: eng.Subscribe(), help: help.New(), opts: opts, historyIn: opts.History == nil}
	m.dashboard = NewDashboard(c, exp)
	m.dashboard.workers = opts.Workers
	m.dashboard.SetStatus(eng.Snapshot())
	return m
}

// Close ends the session's subscription to the engine; a program that ends other
// than by q (its SSH connection dropped) must call it.
func (m *Model) Close() { m.sub.Close() }

// operatorOnly refuses a steering key in a viewer session, saying why.
func (m *Model) operatorOnly(msg tea.KeyMsg) bool {
	if !m.opts.Viewer {
		return false
	}
	m.notice = fmt.Sprintf("%s: only an operator can do that; this session is a viewer", msg.String())
	return true
}

func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{waitEvents(m.sub), tickEvery()}
	if h := m.opts.History; h != nil {
		cmds = append(cmds, func() tea.Msg {
			trials, seq, err := h()
			return historyMsg{trials: trials, seq: seq, err: err}
		})
	}
	return tea.Batch(cmds...)
}

// historyMsg carries the trials finished before the session began.
type historyMsg struct {
	trials []engine.Trial
	seq    uint64
	err    error
}

// apply folds in engine events the history does not already cover.
func (m *Model) apply(events []engine.Event) {
	if !m.historyIn {
		m.held = append(m.held, events...)
		return
	}
	fresh := events[:0:0]
	for _, ev := range events {
		if ev.Seq > m.covered {
			fresh = append(fresh, ev)
		}
	}
	m.dashboard.Apply(fresh)
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	model, cmd := m.update(msg)
	if m.notice != m.shown { // a new notice: its time starts now
		m.shown, m.noticed = m.notice, time.Now()
	}
	return model, cmd
}

// noticeFor is how long a notice stays.
const noticeFor = 5 * time.Second

func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.common.Width, m.common.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
		if m.browser != nil {
			m.browser.Update(msg)
		}
	case tea.KeyMsg:
		k := m.common.Keys
		m.notice = "" // a key ends the last message; what it does may say another
		if !key.Matches(msg, k.Stop) {
			m.stopAsked = false
		}
		if !key.Matches(msg, k.Quit) || msg.String() == "ctrl+c" {
			m.quitAsked = false
		}
		// In the browser q goes back, as esc does (a filter being typed takes it as a
		// letter); only ctrl+c leaves the program from there.
		if m.browser != nil && msg.String() != "ctrl+c" {
			if key.Matches(msg, k.Back, k.Quit) && m.browser.top() {
				m.browser = nil // back to the dashboard
				return m, nil
			}
			if key.Matches(msg, k.Quit) && !m.browser.typing {
				msg = tea.KeyMsg{Type: tea.KeyEsc}
			}
			return m, m.browser.key(msg)
		}
		switch {
		case key.Matches(msg, k.Quit):
			if msg.String() == "ctrl+c" {
				m.sub.Close()
				return m, tea.Interrupt // the program exits as interrupted (130)
			}
			// Quitting a local TUI stops its search: asked twice while it runs.
			if st := m.dashboard.status.State; m.opts.Stop == nil && !m.quitAsked && (st == engine.Searching || st == engine.Paused) {
				m.quitAsked, m.notice = true, "press q again to quit: the search stops (what finished is stored; --resume continues it)"
				return m, nil
			}
			m.sub.Close()
			return m, tea.Quit
		case key.Matches(msg, k.Browse):
			m.browser = newBrowser(m.common, m.opts.DB.Path(), sharedDB(m.opts.DB))
			return m, m.browser.Init()
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
		case (key.Matches(msg, k.Pause, k.PauseCancel, k.Edit, k.Steer) || msg.String() == "X" && m.opts.Stop != nil) && m.operatorOnly(msg):
		case key.Matches(msg, k.Stop):
			if !m.stopAsked {
				m.stopAsked, m.notice = true, "press X again to stop the search for everyone"
				return m, nil
			}
			m.stopAsked, m.notice = false, "stopping the search…"
			m.opts.Stop()
		case m.editor != nil:
			return m, m.editKey(msg)
		case m.steering != nil:
			return m, m.steerKey(msg)
		case key.Matches(msg, k.Steer):
			m.steering = newSteerPanel()
		case key.Matches(msg, k.Up):
			m.dashboard.Select(-1)
		case key.Matches(msg, k.Down):
			m.dashboard.Select(1)
		case key.Matches(msg, k.Focus):
			m.dashboard.ToggleFocus()
		case key.Matches(msg, k.Objectives):
			m.dashboard.NextPair()
		case key.Matches(msg, k.Edit):
			if t := m.dashboard.Selected(); t != nil {
				m.editor = NewEditor(m.exp.Space, t.Arch, t.ID)
			}
		case key.Matches(msg, k.Pause):
			return m, m.togglePause(false)
		case key.Matches(msg, k.PauseCancel):
			return m, m.togglePause(true)
		}
	case historyMsg:
		if msg.err != nil {
			m.notice = "past trials not shown: " + msg.err.Error()
		}
		m.dashboard.ApplyHistory(msg.trials)
		m.historyIn, m.covered = true, msg.seq
		m.apply(m.held)
		m.held = nil
	case eventsMsg:
		m.apply(msg.events)
		m.dashboard.SetStatus(m.eng.Snapshot())
		if !msg.ok { // the search ended: nothing more to wait for
			return m, nil
		}
		return m, waitEvents(m.sub)
	case tickMsg:
		m.dashboard.SetStatus(m.eng.Snapshot())
		if m.notice != "" && time.Time(msg).Sub(m.noticed) > noticeFor && !m.stopAsked && !m.quitAsked {
			m.notice = ""
		}
		return m, tickEvery()
	case noticeMsg:
		m.notice = string(msg)
	case steerDone:
		if p := m.steering; p != nil && msg.err != nil {
			p.err = "not changed: " + msg.err.Error() // the panel stays open on the value
			return m, nil
		}
		if p := m.steering; p != nil {
			p.editing, p.err = false, ""
		}
		m.notice = fmt.Sprintf("%s → %g at the next ask", msg.knob, msg.v)
	default: // the browser's reads
		if m.browser != nil {
			_, cmd := m.browser.Update(msg)
			return m, cmd
		}
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
			if err := m.eng.InjectAs(m.opts.User, a, parent); err != nil {
				return noticeMsg("not queued: " + err.Error())
			}
			return noticeMsg("")
		}
	}
	return nil
}

// steerKey handles a key in the steering panel.
func (m *Model) steerKey(msg tea.KeyMsg) tea.Cmd {
	k, p := m.common.Keys, m.steering
	knobs := m.dashboard.status.Knobs
	if p.editing {
		switch {
		case key.Matches(msg, k.Back):
			p.editing = false
		case msg.Type == tea.KeyEnter:
			if p.cursor >= len(knobs) {
				p.editing = false
				return nil
			}
			kn := knobs[p.cursor]
			v, err := p.value(kn)
			if err != nil { // said at once, in the panel; the value stays to be fixed
				p.err = err.Error()
				return nil
			}
			user := m.opts.User
			return func() tea.Msg { return steerDone{knob: kn.Name, v: v, err: m.eng.Steer(user, kn.Name, v)} }
		default:
			var cmd tea.Cmd
			p.input, cmd = p.input.Update(msg)
			return cmd
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Back):
		m.steering = nil
	case key.Matches(msg, k.Up):
		p.move(-1, len(knobs))
	case key.Matches(msg, k.Down):
		p.move(1, len(knobs))
	case msg.Type == tea.KeyEnter && p.cursor < len(knobs):
		p.edit(knobs[p.cursor])
		return textinput.Blink
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
		return nil // the header shows the new state; a notice set meanwhile stays
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
	if m.opts.Who != "" {
		footer = st.Label.Render(m.opts.Who) + "  " + footer
	}
	if m.notice != "" { // a line of its own, above the keys
		footer = st.Bad.Render(truncate(m.notice, m.common.Width)) + "\n" + footer
	}
	if m.browser != nil {
		return m.browser.View()
	}
	var body string
	switch {
	case m.editor != nil:
		body = lipgloss.JoinVertical(lipgloss.Left, m.dashboard.header(m.common.Width), m.editor.View(m.common, m.common.Width))
	case m.steering != nil:
		s := m.dashboard.status
		body = lipgloss.JoinVertical(lipgloss.Left, m.dashboard.header(m.common.Width), m.steering.View(m.common, s.Knobs, s.Steers, m.common.Width))
	default:
		body = m.dashboard.View(m.common.Height - lipgloss.Height(footer))
	}
	return lipgloss.JoinVertical(lipgloss.Left, body, footer)
}
