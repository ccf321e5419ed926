// Package tui is cellar's terminal UI: a bubbletea program that shows a running search
// live and steers it. Styles come from themes; nothing here is shared between sessions.
package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"cellar/engine"
	"cellar/internal/num"
	"cellar/spaces"
	"cellar/storage"
	"cellar/themes"
)

// Engine is what the TUI needs of a running search.
type Engine interface {
	Snapshot() engine.Status
	PauseAs(who string, cancelRunning bool) error
	ResumeAs(who string) error
	NoteStop(who string)
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

// page is the screen in front: the dashboard, or one opened over it.
type page int

const (
	pageDashboard page = iota
	pageEditor
	pageSteer
	pageBrowser
)

// component is a screen or panel: it takes its own keys, is told its size, draws
// itself in it, and names its keys for the help bar (help.KeyMap).
type component interface {
	SetSize(w, h int)
	Key(tea.KeyMsg) tea.Cmd
	View() string
	help.KeyMap
}

// typist is a component that may be taking text (a filter, an arch): then every
// key but ctrl+c is its own, q and ? included.
type typist interface{ Typing() bool }

// backMsg asks the root to close the component in front.
type backMsg struct{}

func back() tea.Msg { return backMsg{} }

// Model is the root of the program: the page in front, the keys that work on every
// page (quit, help, stop), notices, and the engine's events.
type Model struct {
	common    *Common
	eng       Engine
	sub       *engine.Subscription
	page      page
	dashboard *Dashboard
	editor    *Editor     // the open editor; nil when closed
	steering  *steerPanel // the open steering panel; nil when closed
	browser   *Browser    // open over the dashboard; nil when closed
	exp       *engine.Experiment
	help      help.Model
	notice    string
	// noticed is when the notice was set, and shown the notice it was set for: a
	// notice goes after noticeFor, or at the next key.
	noticed time.Time
	shown   string
	opts    SessionOptions
	// operator are the keys only an operator may use, enabled: a viewer's key map
	// has them disabled (its help leaves them out), and pressing one says why.
	operator  []key.Binding
	stopAsked bool // X was pressed once: the next X stops the search
	quitAsked bool // q was pressed once while the search runs: the next q quits
	// Until the history has arrived, events are held; after, those it covers are
	// dropped.
	historyIn bool
	held      []engine.Event
	covered   uint64
	// seen are the archs of the trials this session has seen finish, for the
	// editor's warning that an arch was already evaluated.
	seen map[string]seenTrial
}

// seenTrial is what the editor says of an arch evaluated before.
type seenTrial struct {
	id     uint64
	state  engine.State
	value  float64
	hasVal bool
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
		c.Keys.Stop.SetEnabled(true)
	}
	m := &Model{common: c, eng: eng, exp: exp, sub: eng.Subscribe(), help: help.New(), opts: opts, historyIn: opts.History == nil, seen: map[string]seenTrial{}}
	m.operator = []key.Binding{c.Keys.Pause, c.Keys.PauseCancel, c.Keys.Edit, c.Keys.Steer, c.Keys.Stop}
	if opts.Viewer { // a viewer's help shows only what it may do
		for _, b := range []*key.Binding{&c.Keys.Pause, &c.Keys.PauseCancel, &c.Keys.Edit, &c.Keys.Steer, &c.Keys.Stop} {
			b.SetEnabled(false)
		}
	}
	c.Keys.Browse.SetEnabled(opts.DB != nil)
	m.dashboard = NewDashboard(c, exp)
	m.dashboard.workers = opts.Workers
	m.dashboard.SetStatus(eng.Snapshot())
	return m
}

// Close ends the session's subscription to the engine; a program that ends other
// than by q (its SSH connection dropped) must call it.
func (m *Model) Close() { m.sub.Close() }

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
	for _, ev := range fresh {
		if ev.Kind == engine.TrialFinished {
			m.see(&ev.Trial)
			if ev.Trial.State == engine.Failed { // said as it happens, not only in b
				m.notice = fmt.Sprintf("trial %d failed: %s", ev.Trial.ID, lastLine(ev.Trial.Error))
			}
		}
	}
}

// see remembers a finished trial's arch and result.
func (m *Model) see(t *engine.Trial) {
	if !t.Final() {
		return
	}
	v, ok := t.Metrics[m.dashboard.obj.Name]
	m.seen[t.Arch] = seenTrial{id: t.ID, state: t.State, value: v, hasVal: ok}
}

// focused is the component in front.
func (m *Model) focused() component {
	switch {
	case m.page == pageEditor && m.editor != nil:
		return m.editor
	case m.page == pageSteer && m.steering != nil:
		return m.steering
	case m.page == pageBrowser && m.browser != nil:
		return m.browser
	}
	return m.dashboard
}

// open brings a component to the front, sized to the screen.
func (m *Model) open(p page, c component) {
	m.page = p
	c.SetSize(m.common.Width, m.bodyHeight())
}

// bodyHeight is the height left to the page in front: above the status line and the
// help, and below the search's header on the editor and steering pages.
func (m *Model) bodyHeight() int {
	h := m.common.Height - 1 - lipgloss.Height(m.help.View(m.focused()))
	if m.page == pageEditor || m.page == pageSteer {
		h--
	}
	return max(h, 1)
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	model, cmd := m.update(msg)
	if m.notice != m.shown { // a new notice: its time starts now
		m.shown, m.noticed = m.notice, time.Now()
	}
	return model, cmd
}

// noticeFor is how long a notice, and an armed X or q, stays.
const noticeFor = 5 * time.Second

func (m *Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.common.Width, m.common.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
		m.focused().SetSize(msg.Width, m.bodyHeight())
	case tea.KeyMsg:
		return m, eachKey(msg, m.typing, m.key)
	case backMsg:
		m.page, m.editor, m.steering, m.browser = pageDashboard, nil, nil, nil
		m.dashboard.SetSize(m.common.Width, m.bodyHeight())
	case historyMsg:
		if msg.err != nil {
			m.notice = "past trials not shown: " + msg.err.Error()
		}
		m.dashboard.ApplyHistory(msg.trials)
		for i := range msg.trials {
			m.see(&msg.trials[i])
		}
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
		if m.notice != "" && time.Time(msg).Sub(m.noticed) > noticeFor {
			m.notice, m.stopAsked, m.quitAsked = "", false, false // an armed X or q lapses with its notice
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
		m.notice = fmt.Sprintf("%s → %s at the next ask", msg.knob, num.Plain(msg.v))
	default: // the browser's reads
		if m.browser != nil {
			_, cmd := m.browser.Update(msg)
			return m, cmd
		}
	}
	return m, nil
}

// typing says whether the component in front takes keys as text.
func (m *Model) typing() bool {
	t, ok := m.focused().(typist)
	return ok && t.Typing()
}

// key handles a key: first those of every page, then the page's own.
func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.common.Keys
	m.notice = "" // a key ends the last message; what it does may say another
	if !key.Matches(msg, k.Stop) {
		m.stopAsked = false
	}
	if !key.Matches(msg, k.Quit) || msg.String() == "ctrl+c" {
		m.quitAsked = false
	}
	if msg.String() == "ctrl+c" {
		m.sub.Close()
		return tea.Interrupt // the program exits as interrupted (130)
	}
	f := m.focused()
	if m.typing() {
		return f.Key(msg) // text being typed takes q and ? as letters
	}
	switch {
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.focused().SetSize(m.common.Width, m.bodyHeight())
		return nil
	case key.Matches(msg, m.operator...) && m.opts.Viewer && (m.page == pageDashboard || key.Matches(msg, k.Stop)):
		m.notice = fmt.Sprintf("%s: only an operator can do that; this session is a viewer", msg.String())
		return nil
	case key.Matches(msg, k.Stop):
		return m.stop()
	case m.page != pageDashboard:
		if key.Matches(msg, k.Quit) { // q goes back in a screen opened over the dashboard
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		}
		return f.Key(msg)
	case key.Matches(msg, k.Quit):
		return m.quit()
	}
	return m.dashboardKey(msg)
}

// quit ends the program; a local TUI's search stops with it, so while it runs q asks
// to be pressed again.
func (m *Model) quit() tea.Cmd {
	if st := m.dashboard.status.State; m.opts.Stop == nil && !m.quitAsked && (st == engine.Searching || st == engine.Paused) {
		m.quitAsked, m.notice = true, "press q again to quit: the search stops (what finished is stored; --resume continues it)"
		return nil
	}
	m.sub.Close()
	return tea.Quit
}

// stop stops a served search for everyone, when X is pressed twice.
func (m *Model) stop() tea.Cmd {
	if !m.stopAsked {
		m.stopAsked, m.notice = true, "press X again to stop the search for everyone"
		return nil
	}
	m.stopAsked = false
	m.eng.NoteStop(m.opts.User)
	m.opts.Stop()
	return nil
}

// dashboardKey handles the dashboard's keys: its own, and those that open a page.
func (m *Model) dashboardKey(msg tea.KeyMsg) tea.Cmd {
	k := m.common.Keys
	switch {
	case key.Matches(msg, k.Browse):
		m.browser = newBrowser(m.common, m.opts.DB.Path(), sharedDB(m.opts.DB))
		m.browser.embedded = true
		m.open(pageBrowser, m.browser)
		return m.browser.Init()
	case key.Matches(msg, k.Steer):
		m.steering = newSteerPanel(m.common, m.dashboard.Status, m.steer)
		m.open(pageSteer, m.steering)
	case key.Matches(msg, k.Edit):
		t := m.dashboard.Selected()
		if t == nil {
			m.notice = "nothing to edit yet: no trial has finished"
			return nil
		}
		m.editor = NewEditor(m.exp.Space, t.Arch, t.ID)
		m.editor.common, m.editor.queue, m.editor.seen = m.common, m.inject, m.seenArch
		m.open(pageEditor, m.editor)
	case key.Matches(msg, k.Pause):
		return m.togglePause(false)
	case key.Matches(msg, k.PauseCancel):
		return m.togglePause(true)
	default:
		return m.dashboard.Key(msg)
	}
	return nil
}

// seenArch says what became of an arch evaluated before in this session's view.
func (m *Model) seenArch(arch string) (seenTrial, bool) {
	t, ok := m.seen[arch]
	return t, ok
}

// inject queues a hand trial off the UI goroutine.
func (m *Model) inject(a spaces.Arch, parent uint64) tea.Cmd {
	user := m.opts.User
	return func() tea.Msg {
		if err := m.eng.InjectAs(user, a, parent); err != nil {
			return noticeMsg("not queued: " + err.Error())
		}
		return noticeMsg("")
	}
}

// steer sends a change to the engine off the UI goroutine.
func (m *Model) steer(knob string, v float64) tea.Cmd {
	user := m.opts.User
	return func() tea.Msg { return steerDone{knob: knob, v: v, err: m.eng.Steer(user, knob, v)} }
}

// togglePause pauses or resumes off the UI goroutine, as the engine answers after a
// round trip.
func (m *Model) togglePause(cancelRunning bool) tea.Cmd {
	paused := m.eng.Snapshot().State == engine.Paused
	user := m.opts.User
	return func() tea.Msg {
		var err error
		switch {
		case paused && !cancelRunning:
			err = m.eng.ResumeAs(user)
		case !paused:
			err = m.eng.PauseAs(user, cancelRunning)
		}
		if err != nil {
			return noticeMsg(err.Error())
		}
		return nil // the header shows the new state; a notice set meanwhile stays
	}
}

func (m *Model) View() string {
	st, w := m.common.Styles, m.common.Width
	f := m.focused()
	// The status line: the latest notice, or who this session is.
	status := ""
	if m.opts.Who != "" {
		status = st.Label.Render(truncate(m.opts.Who, w))
	}
	if m.notice != "" {
		status = st.Bad.Render(truncate(m.notice, w))
	}
	// bubbles' help adds a column that overflows when not even its ellipsis fits;
	// cut each line to the width.
	lines := strings.Split(m.help.View(f), "\n")
	for i, l := range lines {
		lines[i] = truncate(l, w)
	}
	footer := status + "\n" + strings.Join(lines, "\n")
	body := f.View()
	if m.page == pageEditor || m.page == pageSteer { // the search's state stays in sight
		body = lipgloss.JoinVertical(lipgloss.Left, m.dashboard.header(w), body)
	}
	// The body gets what the footer leaves, never more: a long help pushes nothing
	// off the top of the screen.
	room := max(m.common.Height-lipgloss.Height(footer), 1)
	if bl := strings.Split(body, "\n"); len(bl) > room {
		body = strings.Join(bl[:room], "\n")
	}
	return lipgloss.JoinVertical(lipgloss.Left, body, footer)
}
