package tui

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"cellar/engine"
	"cellar/internal/num"
	"cellar/spaces"
	"cellar/storage"
	"cellar/themes"
)

// Browser shows the experiments and trials of a DB offline. It reads what it shows
// into memory and closes the file at once, so it never holds up a search that wants
// the file; when a search holds it, it says so and tries again.
type Browser struct {
	common  *Common
	path    string
	open    func() (*storage.DB, func(), error)
	err     error
	retry   bool // the DB is in use: try again soon
	exps    []storage.ExperimentInfo
	exp     *loadedExp // the open experiment; nil on the experiment list
	rows    []engine.Trial
	cursor  int
	detail  *engine.Trial
	page    viewport.Model // the open trial's detail, scrolled with ↑/↓ and pgup/pgdn
	sortBy  int            // index into b.sortKeys()
	reverse bool           // S: the sort the other way round
	filter  int            // index into filters
	loading bool
	gen     int // counts experiment loads, so that chunks of an earlier one are dropped
	// Trials read for the first screen and in each later chunk.
	firstChunk, laterChunk int
	// The filter expression being typed after /, and the one in force.
	typing  bool
	input   string
	terms   []term
	expr    string
	exprErr error
	// height is the lines the browser is drawn in: the screen less its footer alone,
	// or what the root gives it when embedded (b over a search's dashboard), where it
	// draws no footer of its own and esc on its first screen goes back.
	height   int
	embedded bool
	help     help.Model
}

// loadedExp is an experiment read from the DB.
type loadedExp struct {
	info    storage.ExperimentInfo
	space   spaces.Space
	obj     engine.Objective
	trials  []engine.Trial
	metrics []string // every metric name among the trials, sorted
	// front are the trials on the Pareto front (two objectives or more), from the
	// checkpoint.
	front map[uint64]bool
	// Trials arrive in chunks after the first screen; loaded says when all have.
	loaded  bool
	loadErr error
}

// The first screen of an experiment shows its first trials; the rest follow in
// chunks, each read in its own short transaction, while the screen stays live.
const (
	firstChunk = 1000
	laterChunk = 50000
)

// trial finds a loaded trial by id; trials are read in id order.
func (e *loadedExp) trial(id uint64) (engine.Trial, bool) {
	i, ok := slices.BinarySearchFunc(e.trials, id, func(t engine.Trial, id uint64) int { return cmp.Compare(t.ID, id) })
	if !ok {
		return engine.Trial{}, false
	}
	return e.trials[i], true
}

// add takes in a chunk of trials.
func (e *loadedExp) add(trials []engine.Trial) {
	if len(e.trials) > 0 { // a later chunk: make room for all the listed trials at once
		e.trials = slices.Grow(e.trials, max(e.info.Trials-len(e.trials), len(trials)))
	}
	e.trials = append(e.trials, trials...)
	for _, n := range engine.MetricNames(trials) {
		if !slices.Contains(e.metrics, n) {
			e.metrics = append(e.metrics, n)
		}
	}
	slices.Sort(e.metrics)
}

var filters = []string{"all", "done", "failed", "hand", "front"}

// sortKeys are id, every metric of the open experiment, and seconds.
func (b *Browser) sortKeys() []string {
	keys := []string{"id"}
	if b.exp != nil {
		keys = append(keys, b.exp.metrics...)
	}
	return append(keys, "seconds")
}

type (
	listMsg struct {
		exps []storage.ExperimentInfo
		err  error
	}
	expMsg struct {
		exp *loadedExp
		gen int
		err error
	}
	// moreMsg is the next chunk of the open experiment's trials.
	moreMsg struct {
		gen    int
		trials []engine.Trial
		err    error
	}
	moreRetryMsg struct{ gen int }
	retryMsg     struct{}
)

// NewBrowser builds the browser of the DB at path.
func NewBrowser(path string, theme themes.Theme, r *lipgloss.Renderer) *Browser {
	c := &Common{Theme: theme, Styles: theme.For(r), Keys: DefaultKeys(), Width: 80, Height: 24}
	return newBrowser(c, path, func() (*storage.DB, func(), error) {
		db, err := storage.OpenReadOnly(path, 500*time.Millisecond)
		if err != nil {
			return nil, nil, err
		}
		return db, func() { db.Close() }, nil
	})
}

// newBrowser builds a browser that reads through open, which returns the DB and
// what to do when done with it.
func newBrowser(c *Common, path string, open func() (*storage.DB, func(), error)) *Browser {
	return &Browser{common: c, path: path, open: open, loading: true, firstChunk: firstChunk, laterChunk: laterChunk, height: c.Height - 1, help: help.New()}
}

// sharedDB opens nothing: it lends a DB the process already has open, as a search's
// own session does (a second handle on the file would wait for the search's lock).
func sharedDB(db *storage.DB) func() (*storage.DB, func(), error) {
	return func() (*storage.DB, func(), error) { return db, func() {}, nil }
}

// top says whether the browser shows its first screen, the experiment list.
func (b *Browser) top() bool { return b.exp == nil && b.detail == nil && !b.typing }

func (b *Browser) Init() tea.Cmd { return b.list() }

// SetSize fits the browser to w x h.
func (b *Browser) SetSize(w, h int) {
	b.height = h
	if b.detail != nil {
		b.openDetail(*b.detail)
	}
}

// Typing says a filter is being typed: every key is its.
func (b *Browser) Typing() bool { return b.typing }

// ShortHelp leads with ? on its own screen (cellar browse), so that the full help is
// at hand however narrow the bar; embedded, the root's bar has it.
func (b *Browser) ShortHelp() []key.Binding {
	if b.embedded || b.typing {
		return b.keys().ShortHelp()
	}
	return append([]key.Binding{b.common.Keys.Help}, b.keys().ShortHelp()...)
}

func (b *Browser) FullHelp() [][]key.Binding {
	if b.embedded || b.typing {
		return b.keys().FullHelp()
	}
	return append(b.keys().FullHelp(), []key.Binding{b.common.Keys.Help, b.common.Keys.Quit})
}

// keys are the browser's keys where it is: the experiment list, the trials or a trial.
func (b *Browser) keys() keyGroup {
	k := b.common.Keys
	switch {
	case b.typing:
		return keyGroup{short: []key.Binding{k.Apply, k.Clear, k.Back}, full: [][]key.Binding{{k.Apply, k.Clear, k.Back}}}
	case b.detail != nil:
		return keyGroup{short: []key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Back}, full: [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Back}}}
	case b.exp == nil:
		return keyGroup{short: []key.Binding{k.Up, k.Down, k.Open, k.Reload, k.Quit}, full: [][]key.Binding{{k.Up, k.Down, k.Open, k.Reload, k.Quit}}}
	}
	return k.Browser()
}

// Key is the browser's key handling, as a component of the TUI.
func (b *Browser) Key(msg tea.KeyMsg) tea.Cmd { return b.key(msg) }

// list reads the experiments.
func (b *Browser) list() tea.Cmd {
	open := b.open
	return func() tea.Msg {
		db, done, err := open()
		if err != nil {
			return listMsg{err: err}
		}
		defer done()
		exps, err := db.Experiments()
		return listMsg{exps: exps, err: err}
	}
}

// load reads one experiment's config and first trials.
func (b *Browser) load(info storage.ExperimentInfo) tea.Cmd {
	b.gen++
	open, gen, first := b.open, b.gen, b.firstChunk
	return func() tea.Msg {
		db, done, err := open()
		if err != nil {
			return expMsg{err: err}
		}
		defer done()
		x, err := db.Experiment(info.ID)
		if err != nil {
			return expMsg{err: err}
		}
		src, err := x.Source()
		if err != nil {
			return expMsg{err: err}
		}
		cfg, err := engine.ParseConfig(src)
		if err != nil {
			return expMsg{err: fmt.Errorf("experiment %d's config: %w", info.ID, err)}
		}
		space, err := engine.ExperimentSpace(cfg)
		if err != nil {
			return expMsg{err: fmt.Errorf("experiment %d's space: %w", info.ID, err)}
		}
		trials, err := x.TrialsAfter(0, first)
		if err != nil {
			return expMsg{err: err}
		}
		le := &loadedExp{info: info, space: space, loaded: len(trials) < first}
		le.add(trials)
		objs, err := x.Objectives()
		if err != nil {
			return expMsg{err: err}
		}
		le.obj = objs[0]
		if cp, err := x.Checkpoint(); err == nil && cp != nil && len(objs) > 1 {
			le.front = map[uint64]bool{}
			for _, id := range cp.Front {
				le.front[id] = true
			}
		}
		return expMsg{exp: le, gen: gen}
	}
}

// more reads the chunk of trials after the last one loaded.
func (b *Browser) more() tea.Cmd {
	open, gen, id, n := b.open, b.gen, b.exp.info.ID, b.laterChunk
	var after uint64
	if n := len(b.exp.trials); n > 0 {
		after = b.exp.trials[n-1].ID
	}
	return func() tea.Msg {
		db, done, err := open()
		if err != nil {
			return moreMsg{gen: gen, err: err}
		}
		defer done()
		x, err := db.Experiment(id)
		if err != nil {
			return moreMsg{gen: gen, err: err}
		}
		trials, err := x.TrialsAfter(after, n)
		return moreMsg{gen: gen, trials: trials, err: err}
	}
}

// chunk takes in a chunk of trials and asks for the next, or retries when a search
// holds the file.
func (b *Browser) chunk(msg moreMsg) tea.Cmd {
	if b.exp == nil || msg.gen != b.gen {
		return nil // an earlier experiment's, or it was closed
	}
	if errors.Is(msg.err, storage.ErrInUse) {
		b.exp.loadErr = msg.err
		gen := b.gen
		return tea.Tick(2*time.Second, func(time.Time) tea.Msg { return moreRetryMsg{gen: gen} })
	}
	b.exp.loadErr = msg.err
	if msg.err != nil {
		return nil
	}
	b.exp.add(msg.trials)
	b.addRows(msg.trials)
	if len(msg.trials) < b.laterChunk {
		b.exp.loaded = true
		return nil
	}
	return b.more()
}

func (b *Browser) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		b.common.Width, b.common.Height = msg.Width, msg.Height
		b.help.Width = msg.Width
		b.SetSize(msg.Width, msg.Height-1) // the footer's line
	case listMsg:
		b.loading = false
		b.err, b.retry = msg.err, errors.Is(msg.err, storage.ErrInUse)
		b.exps = msg.exps
		if b.retry {
			return b, tea.Tick(2*time.Second, func(time.Time) tea.Msg { return retryMsg{} })
		}
	case retryMsg:
		return b, b.list()
	case expMsg:
		b.loading = false
		b.err = msg.err
		if msg.err == nil && msg.gen == b.gen {
			b.exp, b.cursor, b.detail = msg.exp, 0, nil
			b.refresh()
			if !b.exp.loaded {
				return b, b.more()
			}
		}
	case moreMsg:
		return b, b.chunk(msg)
	case moreRetryMsg:
		if b.exp != nil && msg.gen == b.gen {
			return b, b.more()
		}
	case tea.KeyMsg:
		return b, eachKey(msg, b.Typing, b.key)
	}
	return b, nil
}

func (b *Browser) key(msg tea.KeyMsg) tea.Cmd {
	k := b.common.Keys
	switch {
	case msg.String() == "ctrl+c": // from any screen, typing too: the program exits as interrupted (130)
		return tea.Interrupt
	case b.typing:
		b.typeFilter(msg)
		return nil
	case b.detail != nil && !key.Matches(msg, k.Quit, k.Back):
		var cmd tea.Cmd
		b.page, cmd = b.page.Update(msg)
		return cmd
	case key.Matches(msg, k.Help) && !b.embedded: // embedded, the root shows its help
		b.help.ShowAll = !b.help.ShowAll
		return nil
	case key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom):
		b.move(msg)
		return nil
	case key.Matches(msg, k.Quit) && b.top(): // cellar browse quits from its first screen
		return tea.Quit
	case key.Matches(msg, k.Back, k.Quit):
		return b.back()
	case key.Matches(msg, k.Open):
		switch {
		case b.exp == nil && b.cursor < len(b.exps):
			b.loading = true
			return b.load(b.exps[b.cursor])
		case b.exp != nil && b.detail == nil && b.cursor < len(b.rows):
			b.openDetail(b.rows[b.cursor])
		}
	case key.Matches(msg, k.Reload):
		b.loading = true
		if b.exp != nil {
			return b.load(b.exp.info)
		}
		return b.list()
	case b.exp != nil:
		b.listKey(msg)
	}
	return nil
}

// typeFilter takes a key of the filter being typed; enter applies it, or keeps the
// one in force and says why not.
func (b *Browser) typeFilter(msg tea.KeyMsg) {
	switch msg.Type {
	case tea.KeyEnter:
		b.typing = false
		terms, err := parseFilter(b.input, b.metricNames())
		b.exprErr = err
		if err == nil {
			b.terms, b.expr = terms, b.input
			b.refresh()
		}
	case tea.KeyEsc:
		b.typing = false
	case tea.KeyCtrlU: // k.Clear
		b.input = ""
	case tea.KeyBackspace:
		if b.input != "" {
			b.input = b.input[:len(b.input)-1]
		}
	case tea.KeyRunes, tea.KeySpace:
		b.input += string(msg.Runes)
		if msg.Type == tea.KeySpace {
			b.input += " "
		}
	}
}

// move moves the cursor a row, half a page, a page, or to the first or last row.
func (b *Browser) move(msg tea.KeyMsg) {
	k := b.common.Keys
	last := max(b.count()-1, 0)
	page := max(b.height-7, 1) // the rows a page shows, about
	switch {
	case key.Matches(msg, k.Up):
		b.cursor = max(b.cursor-1, 0)
	case key.Matches(msg, k.Down):
		b.cursor = min(b.cursor+1, last)
	case key.Matches(msg, k.Top):
		b.cursor = 0
	case key.Matches(msg, k.Bottom):
		b.cursor = last
	case key.Matches(msg, k.PageUp):
		b.cursor = max(b.cursor-page, 0)
	case key.Matches(msg, k.HalfUp):
		b.cursor = max(b.cursor-max(page/2, 1), 0)
	case key.Matches(msg, k.PageDown):
		b.cursor = min(b.cursor+page, last)
	case key.Matches(msg, k.HalfDown):
		b.cursor = min(b.cursor+max(page/2, 1), last)
	}
}

// back leaves a trial for the list, the list for the experiments, and, embedded in
// a search's session, the experiments for the dashboard.
func (b *Browser) back() tea.Cmd {
	switch {
	case b.detail != nil:
		b.detail = nil
	case b.exp != nil:
		b.exp, b.cursor = nil, 0
		b.gen++ // drop the chunks still on their way
	case b.embedded:
		return back
	}
	return nil
}

// listKey takes the trial list's own keys: sort, reverse, filter, show.
func (b *Browser) listKey(msg tea.KeyMsg) {
	k := b.common.Keys
	switch {
	case key.Matches(msg, k.Sort):
		b.sortBy, b.reverse = (b.sortBy+1)%len(b.sortKeys()), false
	case key.Matches(msg, k.Reverse):
		b.reverse = !b.reverse
	case key.Matches(msg, k.Filter):
		b.typing, b.input = true, b.expr
		return
	case key.Matches(msg, k.Show):
		b.filter = (b.filter + 1) % len(filters)
		if filters[b.filter] == "front" && b.exp.front == nil { // one objective: no front
			b.filter = 0
		}
	default:
		return
	}
	b.refresh()
}

// openDetail shows trial t in a page that fills the screen between title and footer.
func (b *Browser) openDetail(t engine.Trial) {
	top := b.page.YOffset
	if b.detail == nil || b.detail.ID != t.ID {
		top = 0
	}
	b.detail = &t
	b.page = viewport.New(b.common.Width, max(b.height-1, 1))
	b.page.SetContent(b.detailView(t))
	b.page.SetYOffset(top)
}

func (b *Browser) count() int {
	if b.exp == nil {
		return len(b.exps)
	}
	return len(b.rows)
}

// refresh applies the filter and sort to the open experiment's trials.
func (b *Browser) refresh() {
	id := b.selectedID()
	b.rows = b.sorted(b.filtered(b.rows[:0], b.exp.trials))
	b.follow(id)
}

// selectedID is the trial under the cursor (0 for none).
func (b *Browser) selectedID() uint64 {
	if b.cursor < len(b.rows) {
		return b.rows[b.cursor].ID
	}
	return 0
}

// follow puts the cursor back on trial id after the rows changed (a sort, a filter,
// a new chunk): the selection stays on the trial, not on the row. A trial no longer
// shown leaves the cursor where it was, within the rows.
func (b *Browser) follow(id uint64) {
	for i, t := range b.rows {
		if t.ID == id {
			b.cursor = i
			return
		}
	}
	b.cursor = min(b.cursor, max(len(b.rows)-1, 0))
}

// addRows brings trials that arrived after the last refresh into the rows: filtered,
// sorted and merged, so that a chunk costs its own size plus one pass over the rows.
func (b *Browser) addRows(trials []engine.Trial) {
	if keys := b.sortKeys(); keys[b.sortBy%len(keys)] == "id" && !b.reverse {
		b.rows = b.filtered(b.rows, trials) // the chunk follows every row in id order
		return
	}
	add := b.sorted(b.filtered(nil, trials))
	if len(add) == 0 {
		return
	}
	less := b.less()
	merged := make([]engine.Trial, 0, len(b.rows)+len(add))
	i, j := 0, 0
	for i < len(b.rows) && j < len(add) {
		if less(&add[j], &b.rows[i]) { // ties keep the older (lower id) row first
			merged = append(merged, add[j])
			j++
		} else {
			merged = append(merged, b.rows[i])
			i++
		}
	}
	merged = append(append(merged, b.rows[i:]...), add[j:]...)
	id := b.selectedID()
	b.rows = merged
	b.follow(id)
}

// filtered appends to dst the trials that pass the show filter and the expression.
func (b *Browser) filtered(dst, trials []engine.Trial) []engine.Trial {
	for _, t := range trials {
		switch filters[b.filter] {
		case "done":
			if t.State != engine.Done {
				continue
			}
		case "failed":
			if t.State != engine.Failed {
				continue
			}
		case "hand":
			if t.Origin != engine.OriginHand {
				continue
			}
		case "front":
			if !b.exp.front[t.ID] {
				continue
			}
		}
		if matches(t, b.terms) {
			dst = append(dst, t)
		}
	}
	return dst
}

// sorted sorts rows in id order (stable) by the current sort key. Trials are read in
// id order, so sorting by id is nothing to do.
func (b *Browser) sorted(rows []engine.Trial) []engine.Trial {
	if keys := b.sortKeys(); keys[b.sortBy%len(keys)] != "id" || b.reverse {
		less := b.less()
		sort.SliceStable(rows, func(i, j int) bool { return less(&rows[i], &rows[j]) })
	}
	return rows
}

// less orders trials by the current sort key, one rule for all: the objective best
// first, by its direction; other metrics best first as engine.GuessDirection guesses their
// direction (times, sizes and losses smallest first, the rest largest first), seconds
// too; ids ascending. S reverses it; trials without the metric stay last.
func (b *Browser) less() func(a, c *engine.Trial) bool {
	by := b.sortKey()
	maximise := engine.GuessDirection(by) == "max"
	if by == b.exp.obj.Name {
		maximise = b.exp.obj.Maximise()
	}
	value := func(t *engine.Trial) (float64, bool) {
		switch by {
		case "id":
			return float64(t.ID), true
		case "seconds":
			return t.Duration().Seconds(), true
		}
		v, ok := t.Metrics[by]
		return v, ok
	}
	if by == "id" {
		maximise = false
	}
	if b.reverse {
		maximise = !maximise
	}
	return func(a, c *engine.Trial) bool {
		va, oka := value(a)
		vc, okc := value(c)
		if oka != okc {
			return oka
		}
		if va == vc {
			return a.ID < c.ID // ties in id order, whichever way
		}
		if maximise {
			return va > vc
		}
		return va < vc
	}
}

// sortKey is the current sort key.
func (b *Browser) sortKey() string {
	keys := b.sortKeys()
	return keys[b.sortBy%len(keys)]
}

func (b *Browser) View() string {
	st, w := b.common.Styles, b.common.Width
	where := "cellar browse │ " + filepath.Base(b.path)
	if b.detail != nil {
		where += fmt.Sprintf(" │ trial %d, %.0f%%", b.detail.ID, b.page.ScrollPercent()*100)
	}
	title := st.Header.Width(w).MaxWidth(w).Render(truncate(where, max(w-2, 0)))
	var foot string
	height := b.height
	if !b.embedded { // the root draws the status and help lines
		foot = truncate(b.help.View(b), w)
		if b.help.ShowAll { // every key, wrapped between keys rather than cut
			foot = st.Muted.Render(fullHelp(b.FullHelp(), w))
		}
		height -= strings.Count(foot, "\n") // the full help takes more than its line
	}
	var body string
	switch {
	case b.err != nil && b.retry:
		body = st.Warn.Render(truncate(b.err.Error(), w)) + "\n" + st.Muted.Render("trying again every 2s…")
	case b.err != nil:
		body = st.Bad.Render("cannot open: ") + "\n" + st.Bad.Render(wrap(b.err.Error(), w))
	case b.loading:
		body = st.Muted.Render("loading…")
	case b.detail != nil:
		body = b.page.View()
	case b.exp != nil:
		body = b.trialsView(height - 1)
	default:
		body = b.expsView()
	}
	view := lipgloss.JoinVertical(lipgloss.Left, title, body)
	if b.embedded {
		return view
	}
	return lipgloss.JoinVertical(lipgloss.Left, view, foot)
}

func (b *Browser) expsView() string {
	st := b.common.Styles
	lines := []string{st.Title.Render(fmt.Sprintf("Experiments (%d)", len(b.exps)))}
	if len(b.exps) == 0 {
		lines = append(lines, st.Muted.Render("none"))
	}
	for i, x := range b.exps {
		state := "running or stopped"
		if x.Finished {
			state = "finished"
		}
		line := truncate(fmt.Sprintf("%s%4d  %-20s %6d trials  %s  %s", marker(i == b.cursor), x.ID, truncate(x.Name, 20), x.Trials, x.Created.Local().Format("2006-01-02 15:04"), state), b.common.Width)
		if i == b.cursor {
			line = st.Selected.Render(line)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (b *Browser) trialsView(height int) string {
	st, e := b.common.Styles, b.exp
	keys := b.sortKeys()
	sortedBy := keys[b.sortBy%len(keys)]
	if b.reverse {
		sortedBy += ", reversed"
	}
	lines := []string{st.Title.Render(truncate(fmt.Sprintf("Experiment %d %s: %d of %d trials (show %s, sort by %s)", e.info.ID, e.info.Name, len(b.rows), len(e.trials), filters[b.filter], sortedBy), b.common.Width))}
	// The sorted column is always shown: a metric other than the objective gets a
	// column of its own.
	extra := b.sortKey()
	if extra == e.obj.Name || extra == "id" || extra == "seconds" {
		extra = ""
	}
	switch {
	case e.loadErr != nil && errors.Is(e.loadErr, storage.ErrInUse):
		lines = append(lines, st.Warn.Render(truncate(fmt.Sprintf("read %d of %d trials; trying again every 2s: %v", len(e.trials), e.info.Trials, e.loadErr), b.common.Width)))
	case e.loadErr != nil:
		lines = append(lines, st.Bad.Render(truncate(fmt.Sprintf("read %d of %d trials, then: %v", len(e.trials), e.info.Trials, e.loadErr), b.common.Width)))
	case !e.loaded:
		lines = append(lines, st.Muted.Render(truncate(fmt.Sprintf("reading trials: %d of %d…", len(e.trials), e.info.Trials), b.common.Width)))
	}
	switch {
	case b.typing:
		lines = append(lines, st.Accent.Render(truncate("filter: "+b.input+"▏  (e.g. val_accuracy>90 origin=hand; enter applies, esc cancels)", b.common.Width)))
	case b.exprErr != nil:
		lines = append(lines, st.Bad.Render(truncate("filter not applied: "+b.exprErr.Error(), b.common.Width)))
	}
	if !b.typing && b.expr != "" { // the active filter stays in sight, a rejected one too
		lines = append(lines, st.Muted.Render(truncate("filter: "+b.expr, b.common.Width)))
	}
	lines = append(lines,
		st.Label.Render(truncate(fmt.Sprintf("  %-6s %-6s %-7s %6s %10s%s %8s  %s", "ID", "STATE", "ORIGIN", "PARENT", truncate(e.obj.Name, 10), extraCol(extra, extra), "SECONDS", "ARCH"), b.common.Width)))
	rows := max(height-len(lines), 1)
	top := max(min(b.cursor-rows/2, len(b.rows)-rows), 0)
	for i := top; i < len(b.rows) && i < top+rows; i++ {
		t := b.rows[i]
		val, parent := "-", "-"
		if v, ok := t.Metrics[e.obj.Name]; ok {
			val = num.Human(v)
		}
		if t.Parent != 0 {
			parent = fmt.Sprint(t.Parent)
		}
		ev := "-"
		if v, ok := t.Metrics[extra]; ok {
			ev = num.Human(v)
		}
		line := truncate(fmt.Sprintf("%s%-6d %-6s %-7s %6s %10s%s %8.1f  %s", marker(i == b.cursor), t.ID, t.Status(), truncate(t.Origin, 7), parent, val, extraCol(extra, ev), t.Duration().Seconds(), t.Arch), b.common.Width)
		switch {
		case i == b.cursor:
			line = st.Selected.Render(line)
		case t.State == engine.Failed:
			line = st.Bad.Render(line)
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (b *Browser) detailView(t engine.Trial) string {
	st, e, w := b.common.Styles, b.exp, b.common.Width
	lines := []string{st.Title.Render(fmt.Sprintf("Trial %d of experiment %d", t.ID, e.info.ID)),
		fmt.Sprintf("%s %s   %s %s   %s %.1fs", st.Label.Render("state"), t.Status(), st.Label.Render("origin"), t.Origin, st.Label.Render("ran"), t.Duration().Seconds()),
		truncate(st.Label.Render("arch ")+t.Arch, w)}
	if t.Error != "" {
		lines = append(lines, st.Bad.Render(wrap("error: "+t.Error, w)))
	}
	if t.Stop != nil {
		lines = append(lines, wrap(fmt.Sprintf("%s %s at rung %d: %s", st.Label.Render("stopped"), t.Stop.Rule, t.Stop.Rung, t.Stop.Reason), w))
	}
	for _, r := range t.Rungs {
		lines = append(lines, truncate(fmt.Sprintf("%s %s, promoted %v: %s", st.Label.Render(fmt.Sprintf("rung %d", r.Rung)), r.Evaluator, r.Promoted, metricList(r.Metrics)), w))
	}
	if len(t.Metrics) > 0 {
		keys := make([]string, 0, len(t.Metrics))
		for k := range t.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = st.Label.Render(k) + " " + num.Plain(t.Metrics[k])
		}
		lines = append(lines, wrap(strings.Join(parts, "  "), w))
	}
	lines = append(lines, "", archDiagram(b.common, "Architecture", e.space, t.Arch, w))
	if len(t.Curve) > 0 {
		lines = append(lines, "", st.Title.Render("Learning curve"))
		if len(t.Curve) > 1 {
			lines = append(lines, learningCurve(b.common, t.Curve, w, 10))
		}
		for _, p := range t.Curve {
			keys := make([]string, 0, len(p.Metrics))
			for k := range p.Metrics {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := []string{fmt.Sprintf("epoch %g", p.Epoch)}
			for _, k := range keys {
				parts = append(parts, k+" "+num.Human(p.Metrics[k]))
			}
			lines = append(lines, truncate(strings.Join(parts, "  "), w))
		}
	}
	lines = append(lines, "", st.Title.Render("Lineage"))
	if t.Parent == 0 {
		lines = append(lines, st.Muted.Render("no parent: drawn fresh"))
	}
	for p, n := t.Parent, 0; p != 0 && n < 10; n++ {
		pt, ok := e.trial(p)
		if !ok {
			lines = append(lines, fmt.Sprintf("← %d (not stored)", p))
			break
		}
		val := "-"
		if v, ok := pt.Metrics[e.obj.Name]; ok {
			val = num.Human(v)
		}
		lines = append(lines, truncate(fmt.Sprintf("← %d %s %s  %s", pt.ID, e.obj.Name, val, pt.Arch), w))
		p = pt.Parent
	}
	return strings.Join(lines, "\n")
}

// marker marks a selected row so that it shows without colour.
func marker(selected bool) string {
	if selected {
		return "› "
	}
	return "  "
}

// wrap breaks s into lines of at most w cells.
func wrap(s string, w int) string { return ansi.Wrap(s, max(w, 10), "") }

// metricList is "name value" pairs in name order.
func metricList(m map[string]float64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %s", k, num.Human(m[k]))
	}
	return strings.Join(parts, "  ")
}

// metricNames are the metrics the open experiment's trials have, sorted: the fields a
// filter may name beside the trial's own.
func (b *Browser) metricNames() []string {
	seen := map[string]bool{}
	if b.exp != nil {
		for _, t := range b.exp.trials {
			for m := range t.Metrics {
				seen[m] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// extraCol is a column of the sorted metric, when it is not shown already.
func extraCol(name, v string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" %10s", truncate(v, 10))
}

// fullHelp lays out groups of keys a line each, "key what • key what", wrapped
// between keys at w columns, so that none is cut however narrow the screen.
func fullHelp(groups [][]key.Binding, w int) string {
	var lines []string
	for _, g := range groups {
		line := ""
		for _, k := range g {
			if !k.Enabled() {
				continue
			}
			item := k.Help().Key + " " + k.Help().Desc
			switch {
			case line == "":
				line = item
			case lipgloss.Width(line+" • "+item) > w:
				lines = append(lines, line)
				line = item
			default:
				line += " • " + item
			}
		}
		if line != "" {
			lines = append(lines, truncate(line, w))
		}
	}
	return strings.Join(lines, "\n")
}
