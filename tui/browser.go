package tui

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"cellar/engine"
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
	err     error
	retry   bool // the DB is in use: try again soon
	exps    []storage.ExperimentInfo
	exp     *loadedExp // the open experiment; nil on the experiment list
	rows    []engine.Trial
	cursor  int
	detail  *engine.Trial
	sortBy  int // index into b.sortKeys()
	filter  int // index into filters
	loading bool
	// The filter expression being typed after /, and the one in force.
	typing  bool
	input   string
	terms   []term
	expr    string
	exprErr error
}

// loadedExp is an experiment read from the DB.
type loadedExp struct {
	info    storage.ExperimentInfo
	space   spaces.Space
	obj     engine.Objective
	trials  []engine.Trial
	byID    map[uint64]engine.Trial
	metrics []string // every metric name among the trials, sorted
}

var filters = []string{"all", "done", "failed", "hand"}

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
		err error
	}
	retryMsg struct{}
)

// NewBrowser builds the browser of the DB at path.
func NewBrowser(path string, theme themes.Theme, r *lipgloss.Renderer) *Browser {
	return &Browser{common: &Common{Theme: theme, Styles: theme.For(r), Keys: DefaultKeys(), Width: 80, Height: 24}, path: path, loading: true}
}

func (b *Browser) Init() tea.Cmd { return b.list() }

// list reads the experiments.
func (b *Browser) list() tea.Cmd {
	path := b.path
	return func() tea.Msg {
		db, err := storage.OpenReadOnly(path, 500*time.Millisecond)
		if err != nil {
			return listMsg{err: err}
		}
		defer db.Close()
		exps, err := db.Experiments()
		return listMsg{exps: exps, err: err}
	}
}

// load reads one experiment's config and trials.
func (b *Browser) load(info storage.ExperimentInfo) tea.Cmd {
	path := b.path
	return func() tea.Msg {
		db, err := storage.OpenReadOnly(path, 500*time.Millisecond)
		if err != nil {
			return expMsg{err: err}
		}
		defer db.Close()
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
		space, err := engine.BuildSpace(cfg.Space)
		if err != nil {
			return expMsg{err: fmt.Errorf("experiment %d's space: %w", info.ID, err)}
		}
		trials, err := x.Trials()
		if err != nil {
			return expMsg{err: err}
		}
		le := &loadedExp{info: info, space: space, trials: trials, byID: make(map[uint64]engine.Trial, len(trials)), metrics: engine.MetricNames(trials)}
		le.obj = objectiveOf(cfg, trials)
		for _, t := range trials {
			le.byID[t.ID] = t
		}
		return expMsg{exp: le}
	}
}

// objectiveOf is the experiment's first objective; a config without one got its
// evaluator's default, which only building the evaluator would tell, so it is taken
// from the stored metrics instead: the first by name, sizes, losses and times minimised.
func objectiveOf(cfg *engine.Config, trials []engine.Trial) engine.Objective {
	if len(cfg.Objectives) > 0 {
		return cfg.Objectives[0]
	}
	var names []string
	for _, t := range trials {
		for k := range t.Metrics {
			names = append(names, k)
		}
		if len(names) > 0 {
			break
		}
	}
	if len(names) == 0 {
		return engine.Objective{Name: "-", Direction: "max"}
	}
	sort.Strings(names)
	o := engine.Objective{Name: names[0], Direction: "max"}
	for _, low := range []string{"params", "flops", "loss", "seconds", "latency"} {
		if strings.Contains(o.Name, low) {
			o.Direction = "min"
		}
	}
	return o
}

func (b *Browser) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		b.common.Width, b.common.Height = msg.Width, msg.Height
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
		if msg.err == nil {
			b.exp, b.cursor, b.detail = msg.exp, 0, nil
			b.refresh()
		}
	case tea.KeyMsg:
		return b, b.key(msg)
	}
	return b, nil
}

func (b *Browser) key(msg tea.KeyMsg) tea.Cmd {
	k := b.common.Keys
	if b.typing {
		switch msg.Type {
		case tea.KeyEnter:
			b.typing = false
			terms, err := parseFilter(b.input)
			b.exprErr = err
			if err == nil {
				b.terms, b.expr = terms, b.input
				b.refresh()
			}
		case tea.KeyEsc:
			b.typing = false
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
		return nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Back):
		switch {
		case b.detail != nil:
			b.detail = nil
		case b.exp != nil:
			b.exp, b.cursor = nil, 0
		}
	case key.Matches(msg, k.Up):
		b.cursor = max(b.cursor-1, 0)
	case key.Matches(msg, k.Down):
		b.cursor = min(b.cursor+1, max(b.count()-1, 0))
	case key.Matches(msg, k.Queue): // enter: open
		switch {
		case b.exp == nil && b.cursor < len(b.exps):
			b.loading = true
			return b.load(b.exps[b.cursor])
		case b.exp != nil && b.detail == nil && b.cursor < len(b.rows):
			t := b.rows[b.cursor]
			b.detail = &t
		}
	case msg.String() == "s" && b.exp != nil:
		b.sortBy = (b.sortBy + 1) % len(b.sortKeys())
		b.refresh()
	case msg.String() == "/" && b.exp != nil:
		b.typing, b.input = true, b.expr
	case msg.String() == "f" && b.exp != nil:
		b.filter = (b.filter + 1) % len(filters)
		b.refresh()
	case msg.String() == "r":
		b.loading = true
		if b.exp != nil {
			return b.load(b.exp.info)
		}
		return b.list()
	}
	return nil
}

func (b *Browser) count() int {
	if b.exp == nil {
		return len(b.exps)
	}
	return len(b.rows)
}

// refresh applies the filter and sort to the open experiment's trials.
func (b *Browser) refresh() {
	b.rows = b.rows[:0]
	for _, t := range b.exp.trials {
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
		}
		if !matches(t, b.terms) {
			continue
		}
		b.rows = append(b.rows, t)
	}
	keys := b.sortKeys()
	by := keys[b.sortBy%len(keys)]
	// A metric sorts best first: by the objective's direction for the objective, and
	// for others by the same guess objectiveOf makes.
	maximise := objectiveOf(&engine.Config{}, []engine.Trial{{Metrics: map[string]float64{by: 0}}}).Maximise()
	if by == b.exp.obj.Name {
		maximise = b.exp.obj.Maximise()
	}
	sort.SliceStable(b.rows, func(i, j int) bool {
		switch by {
		case "id":
			return b.rows[i].ID < b.rows[j].ID
		case "seconds":
			return b.rows[i].Duration() > b.rows[j].Duration()
		}
		vi, oki := b.rows[i].Metrics[by]
		vj, okj := b.rows[j].Metrics[by]
		if oki != okj {
			return oki
		}
		if maximise {
			return vi > vj
		}
		return vi < vj
	})
	b.cursor = min(b.cursor, max(len(b.rows)-1, 0))
}

func (b *Browser) View() string {
	st, w := b.common.Styles, b.common.Width
	title := st.Header.Width(w).MaxWidth(w).Render("cellar browse │ " + filepath.Base(b.path))
	footer := st.Muted.Render(truncate("↑/↓ select • enter open • esc back • s sort • f show • / filter • r reload • q quit", w))
	var body string
	switch {
	case b.err != nil && b.retry:
		body = st.Warn.Render(truncate(b.err.Error(), w)) + "\n" + st.Muted.Render("trying again every 2s…")
	case b.err != nil:
		body = st.Bad.Render("cannot open: ") + "\n" + st.Bad.Render(wrap(b.err.Error(), w))
	case b.loading:
		body = st.Muted.Render("loading…")
	case b.detail != nil:
		body = b.detailView(*b.detail)
	case b.exp != nil:
		body = b.trialsView(b.common.Height - 3)
	default:
		body = b.expsView()
	}
	return lipgloss.JoinVertical(lipgloss.Left, title, body, footer)
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
	lines := []string{st.Title.Render(truncate(fmt.Sprintf("Experiment %d %s: %d of %d trials (show %s, sort by %s)", e.info.ID, e.info.Name, len(b.rows), len(e.trials), filters[b.filter], keys[b.sortBy%len(keys)]), b.common.Width))}
	switch {
	case b.typing:
		lines = append(lines, st.Accent.Render(truncate("filter: "+b.input+"▏  (e.g. val_accuracy>90 origin=hand; enter applies, esc cancels)", b.common.Width)))
	case b.exprErr != nil:
		lines = append(lines, st.Bad.Render(truncate("filter not applied: "+b.exprErr.Error(), b.common.Width)))
	case b.expr != "":
		lines = append(lines, st.Muted.Render(truncate("filter: "+b.expr, b.common.Width)))
	}
	lines = append(lines,
		st.Label.Render(truncate(fmt.Sprintf("  %-6s %-6s %-7s %6s %10s %8s  %s", "ID", "STATE", "ORIGIN", "PARENT", truncate(e.obj.Name, 10), "SECONDS", "ARCH"), b.common.Width)))
	rows := max(height-len(lines), 1)
	top := max(min(b.cursor-rows/2, len(b.rows)-rows), 0)
	for i := top; i < len(b.rows) && i < top+rows; i++ {
		t := b.rows[i]
		val, parent := "-", "-"
		if v, ok := t.Metrics[e.obj.Name]; ok {
			val = fmt.Sprintf("%.4g", v)
		}
		if t.Parent != 0 {
			parent = fmt.Sprint(t.Parent)
		}
		line := truncate(fmt.Sprintf("%s%-6d %-6s %-7s %6s %10s %8.1f  %s", marker(i == b.cursor), t.ID, t.State, truncate(t.Origin, 7), parent, val, t.Duration().Seconds(), t.Arch), b.common.Width)
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
		fmt.Sprintf("%s %s   %s %s   %s %.1fs", st.Label.Render("state"), t.State, st.Label.Render("origin"), t.Origin, st.Label.Render("ran"), t.Duration().Seconds()),
		truncate(st.Label.Render("arch ")+t.Arch, w)}
	if t.Error != "" {
		lines = append(lines, st.Bad.Render(wrap("error: "+t.Error, w)))
	}
	if len(t.Metrics) > 0 {
		keys := make([]string, 0, len(t.Metrics))
		for k := range t.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s %.6g", st.Label.Render(k), t.Metrics[k])
		}
		lines = append(lines, wrap(strings.Join(parts, "  "), w))
	}
	lines = append(lines, "", archDiagram(b.common, "Architecture", e.space, t.Arch, w))
	if len(t.Curve) > 0 {
		lines = append(lines, "", st.Title.Render("Learning curve"))
		for _, p := range t.Curve {
			keys := make([]string, 0, len(p.Metrics))
			for k := range p.Metrics {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := []string{fmt.Sprintf("epoch %g", p.Epoch)}
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s %.4g", k, p.Metrics[k]))
			}
			lines = append(lines, truncate(strings.Join(parts, "  "), w))
		}
	}
	lines = append(lines, "", st.Title.Render("Lineage"))
	if t.Parent == 0 {
		lines = append(lines, st.Muted.Render("no parent: drawn fresh"))
	}
	for p, n := t.Parent, 0; p != 0 && n < 10; n++ {
		pt, ok := e.byID[p]
		if !ok {
			lines = append(lines, fmt.Sprintf("← %d (not stored)", p))
			break
		}
		val := "-"
		if v, ok := pt.Metrics[e.obj.Name]; ok {
			val = fmt.Sprintf("%.4g", v)
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
