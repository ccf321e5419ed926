package tui

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"cellar/engine"
)

// recentKept is how many finished trials the dashboard keeps for its table.
const recentKept = 200

// Dashboard is the live view of a search: header with state and progress, running
// trials with their latest progress, and the most recent finished trials.
type Dashboard struct {
	common *Common
	exp    *engine.Experiment
	obj    engine.Objective
	status engine.Status
	recent []engine.Trial // newest last
	points []point        // every finished trial, for the charts
	// The first two objectives of the trials that have both (X the second, Y the
	// first), and their Pareto front, kept up as trials arrive.
	xy     []canvas.Float64Point
	front  frontSet
	bar    progress.Model
	sel    int  // selected row of the recent table, 0 = newest
	popSel int  // selected population member, 0 = fittest
	onPop  bool // the selection is in the population, not the recent table

	// The chart rows are drawn again only when what they show changes.
	chartsKey  chartsKey
	chartsRows []string
}

// chartsKey is what the chart rows depend on.
type chartsKey struct {
	points, w, room int
	best            uint64
	population      string
	selected        uint64 // the selected population member, 0 for none
}

// Select moves the selection by d rows, in the recent trials or the population.
func (d *Dashboard) Select(delta int) {
	if d.onPop {
		d.popSel = min(max(d.popSel+delta, 0), max(len(d.status.Population)-1, 0))
		return
	}
	d.sel = min(max(d.sel+delta, 0), max(len(d.recent)-1, 0))
}

// ToggleFocus moves the selection between the recent trials and the population (when
// the strategy keeps one).
func (d *Dashboard) ToggleFocus() { d.onPop = !d.onPop && len(d.status.Population) > 0 }

// fittest returns the population, fittest first.
func (d *Dashboard) fittest() []engine.Member {
	pop := d.status.Population
	scores := make([]float64, len(pop))
	for i, m := range pop {
		scores[i] = m.Score
	}
	out := make([]engine.Member, 0, len(pop))
	for _, i := range topK(scores, len(pop), true) {
		out = append(out, pop[i])
	}
	return out
}

// Selected is the selected trial: a population member or a recent trial, or the best
// when there is none.
func (d *Dashboard) Selected() *engine.Trial {
	if pop := d.fittest(); d.onPop && d.popSel < len(pop) {
		m := pop[d.popSel]
		return &engine.Trial{ID: m.Trial, Arch: m.Arch}
	}
	if i := len(d.recent) - 1 - d.sel; i >= 0 && i < len(d.recent) {
		t := d.recent[i]
		return &t
	}
	return d.status.Best
}

// NewDashboard builds the dashboard of an experiment.
func NewDashboard(c *Common, exp *engine.Experiment) *Dashboard {
	return &Dashboard{common: c, exp: exp, obj: exp.Config.Objectives[0], bar: progress.New(progress.WithoutPercentage(), progress.WithSolidFill(string(c.Theme.Accent)))}
}

// SetStatus takes a fresh engine snapshot.
func (d *Dashboard) SetStatus(s engine.Status) { d.status = s }

// Apply folds engine events in: finished trials go to the recent table.
func (d *Dashboard) Apply(events []engine.Event) {
	for _, ev := range events {
		if ev.Kind == engine.TrialFinished && ev.Trial.Final() {
			d.recent = append(d.recent, ev.Trial)
			if ev.Trial.State == engine.Done {
				v, ok := ev.Trial.Metrics[d.obj.Name]
				d.addPoint(point{id: ev.Trial.ID, v: v, ok: ok})
				d.addToFront(ev.Trial.Metrics)
			}
		}
	}
	if over := len(d.recent) - recentKept; over > 0 {
		d.recent = append(d.recent[:0], d.recent[over:]...)
	}
}

// addPoint inserts p in id order. Trials finish nearly in id order (at most the
// parallelism apart), so the search from the end is short.
func (d *Dashboard) addPoint(p point) {
	i := len(d.points)
	for i > 0 && d.points[i-1].id > p.id {
		i--
	}
	d.points = slices.Insert(d.points, i, p)
}

// addToFront adds a trial's first two objectives to the Pareto data.
func (d *Dashboard) addToFront(m map[string]float64) {
	objs := d.exp.Config.Objectives
	if len(objs) < 2 {
		return
	}
	y, oky := m[objs[0].Name]
	x, okx := m[objs[1].Name]
	if !okx || !oky {
		return
	}
	d.front.maxY, d.front.maxX = objs[0].Maximise(), objs[1].Maximise()
	d.xy = append(d.xy, canvas.Float64Point{X: x, Y: y})
	d.front.add(d.xy, len(d.xy)-1)
}

// View renders the dashboard in the session's width and the given height.
func (d *Dashboard) View(height int) string {
	w := max(d.common.Width, 20)
	header := d.header(w)
	bar := d.progress(w)
	running := d.running(w)
	rest := height - lipgloss.Height(header) - lipgloss.Height(bar) - lipgloss.Height(running)
	// Charts take what the trials table (at least 5 lines) leaves: a first row of the
	// reward curve and the best architecture, a second of population and Pareto front.
	rows := d.charts(w, rest-5)
	for _, r := range rows {
		rest -= lipgloss.Height(r)
	}
	parts := append([]string{header, bar}, rows...)
	parts = append(parts, running, d.table(w, max(rest, 3)))
	return lipgloss.JoinVertical(lipgloss.Left, parts...)
}

// charts returns the chart rows for room lines, from the cache when nothing they show
// has changed.
func (d *Dashboard) charts(w, room int) []string {
	key := chartsKey{points: len(d.points), w: w, room: room}
	if d.status.Best != nil {
		key.best = d.status.Best.ID
	}
	if n := len(d.status.Population); n > 0 {
		key.population = fmt.Sprint(n, d.status.Population[0].Trial, d.status.Population[n-1].Trial)
	}
	var selected uint64
	if t := d.Selected(); d.onPop && t != nil {
		selected = t.ID
	}
	key.selected = selected
	if key == d.chartsKey && d.chartsRows != nil {
		return d.chartsRows
	}
	rows := []string{}
	if room >= 8 {
		h1 := min(room, 12)
		rows = append(rows, d.pair(rewardChart(d.common, d.obj, d.points, w/2-1, h1), d.bestDiagram(w-w/2), w, h1))
		if room-h1 >= 8 {
			h2 := min(room-h1, 12)
			pop := populationBars(d.common, d.obj, d.status.Population, d.points, selected, w/2-1, h2)
			other := d.common.Styles.Muted.Render("one objective: no Pareto front")
			if objs := d.exp.Config.Objectives; len(objs) > 1 {
				other = paretoChart(d.common, objs[0], objs[1], d.xy, d.front.members, w-w/2, h2)
			}
			rows = append(rows, d.pair(pop, other, w, h2))
		}
	}
	d.chartsKey, d.chartsRows = key, rows
	return rows
}

// pair sets two panels side by side in w columns and at most h lines.
func (d *Dashboard) pair(left, right string, w, h int) string {
	cell := func(s string, width int) string {
		lines := strings.Split(s, "\n")
		if len(lines) > h {
			lines = lines[:h]
		}
		for i, l := range lines {
			l = truncate(l, width)
			lines[i] = l + strings.Repeat(" ", max(width-lipgloss.Width(l), 0))
		}
		return strings.Join(lines, "\n")
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, cell(left, w/2), cell(right, w-w/2))
}

func (d *Dashboard) bestDiagram(w int) string {
	arch := ""
	if d.status.Best != nil {
		arch = d.status.Best.Arch
	}
	return archDiagram(d.common, "Best architecture", d.exp.Space, arch, w)
}

func (d *Dashboard) header(w int) string {
	st, s := d.common.Styles, d.status
	state := strings.ToUpper(string(s.State))
	parts := []string{"cellar", d.exp.Config.Name}
	trials := fmt.Sprintf("%d trials", s.Done+s.Failed)
	if b := s.Budget.Trials; b > 0 {
		trials = fmt.Sprintf("%d/%d trials", s.Done+s.Failed, b)
	}
	if s.Failed > 0 {
		trials += fmt.Sprintf(" (%d failed)", s.Failed)
	}
	parts = append(parts, trials)
	if s.Best != nil {
		parts = append(parts, fmt.Sprintf("best %s %.4g (#%d)", d.obj.Name, s.Best.Metrics[d.obj.Name], s.Best.ID))
	}
	parts = append(parts, s.Elapsed.Round(time.Second).String())
	left := st.HeaderState.Render(state)
	line := st.Header.Width(max(w-lipgloss.Width(left), 0)).MaxWidth(max(w-lipgloss.Width(left), 0)).Render(strings.Join(parts, " │ "))
	return lipgloss.JoinHorizontal(lipgloss.Top, left, line)
}

func (d *Dashboard) progress(w int) string {
	s := d.status
	frac := 0.0
	if b := s.Budget.Trials; b > 0 {
		frac = float64(s.Done+s.Failed) / float64(b)
	} else if t := s.Budget.Time; t > 0 {
		frac = float64(s.Elapsed) / float64(t)
	}
	d.bar.Width = w
	return d.bar.ViewAs(min(frac, 1))
}

func (d *Dashboard) running(w int) string {
	st, s := d.common.Styles, d.status
	lines := []string{st.Title.Render(fmt.Sprintf("Running (%d)", len(s.Running)))}
	trials := append([]engine.Trial(nil), s.Running...)
	sort.Slice(trials, func(i, j int) bool { return trials[i].ID < trials[j].ID })
	for _, t := range trials {
		line := fmt.Sprintf("#%-5d %-6s", t.ID, t.Origin)
		if p, ok := s.Progress[t.ID]; ok {
			line += fmt.Sprintf(" epoch %.2f", p.Epoch)
			if l, ok := p.Metrics["loss"]; ok {
				line += fmt.Sprintf(" loss %.3f", l)
			}
			if a, ok := p.Metrics["accuracy"]; ok {
				line += fmt.Sprintf(" acc %.1f%%", a)
			}
		} else {
			line += " " + time.Since(t.Started).Round(time.Second).String()
		}
		lines = append(lines, st.Text.Render(truncate(line+"  "+t.Arch, w)))
	}
	if len(trials) == 0 {
		lines = append(lines, st.Muted.Render("none"))
	}
	return strings.Join(lines, "\n")
}

// table renders the newest finished trials that fit in height lines.
func (d *Dashboard) table(w, height int) string {
	st := d.common.Styles
	head := fmt.Sprintf("  %-6s %-6s %-7s %10s %8s  %s", "ID", "STATE", "ORIGIN", truncate(d.obj.Name, 10), "SECONDS", "ARCH")
	lines := []string{st.Title.Render("Recent trials"), st.Label.Render(truncate(head, w))}
	rows := max(height-2, 0)
	for i := len(d.recent) - 1; i >= 0 && len(lines)-2 < rows; i-- {
		t := d.recent[i]
		val := "-"
		if v, ok := t.Metrics[d.obj.Name]; ok {
			val = fmt.Sprintf("%.4g", v)
		}
		mark := marker(!d.onPop && len(d.recent)-1-i == d.sel)
		row := truncate(fmt.Sprintf("%s%-6d %-6s %-7s %10s %8.1f  %s", mark, t.ID, t.State, truncate(t.Origin, 7), val, t.Duration().Seconds(), t.Arch), w)
		style := st.Text
		if !d.onPop && len(d.recent)-1-i == d.sel {
			style = st.Selected
		} else if t.State == engine.Failed {
			style = st.Bad
		} else if d.status.Best != nil && t.ID == d.status.Best.ID {
			style = st.Good
		}
		lines = append(lines, style.Render(row))
	}
	return strings.Join(lines, "\n")
}

// truncate cuts s, which may hold styles, to w cells, marking the cut.
func truncate(s string, w int) string { return ansi.Truncate(s, max(w, 0), "…") }
