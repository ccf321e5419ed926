package tui

import (
	"cellar/learning"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/progress"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"cellar/engine"
	"cellar/internal/num"
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
	xy    []canvas.Float64Point
	front frontSet
	// Every done trial's objectives (with two or more), so that the chart can show
	// another pair; pair is the plotted one (Y, X), as indexes into the objectives.
	objVals [][]float64
	pair    [2]int
	learn   learners
	rungs   rungStats
	bar     progress.Model
	sel     int    // selected row of the recent table, 0 = newest
	popSel  int    // selected population member, 0 = fittest
	popID   uint64 // its trial: the selection follows it as the population changes
	chosen  bool   // a recent trial was selected by hand: new rows keep it selected
	onPop   bool   // the selection is in the population, not the recent table

	// The chart rows are drawn again only when what they show changes.
	chartsKey  chartsKey
	chartsRows []string

	// workers, when the search's trials run on workers, are those heard of.
	workers func() []Worker
	height  int // the lines the dashboard is drawn in (SetSize)
}

// chartsKey is what the chart rows depend on.
type chartsKey struct {
	points, w, room int
	learn           int
	best            uint64
	population      string
	selected        uint64 // the selected population member, 0 for none
	steers          int
}

// Select moves the selection by d rows, in the recent trials or the population.
func (d *Dashboard) Select(delta int) {
	if d.onPop {
		d.popSel = min(max(d.popSel+delta, 0), max(len(d.status.Population)-1, 0))
		if pop := d.fittest(); d.popSel < len(pop) {
			d.popID = pop[d.popSel].Trial
		}
		return
	}
	d.sel = min(max(d.sel+delta, 0), max(len(d.recent)-1, 0))
	d.chosen = true
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
	c.Keys.Objectives.SetEnabled(len(exp.Config.Objectives) > 2)
	d := &Dashboard{common: c, exp: exp, obj: exp.Config.Objectives[0], pair: [2]int{0, 1}, bar: progress.New(progress.WithoutPercentage(), progress.WithSolidFill(string(c.Theme.Accent)))}
	_, d.rungs.cascade = engine.As[engine.Laddered](exp.Evaluator)
	return d
}

// SetStatus takes a fresh engine snapshot, and the learner reports made before this
// view subscribed (a resumed search, a late SSH session).
func (d *Dashboard) SetStatus(s engine.Status) {
	d.status = s
	if d.popID != 0 { // the selected member, wherever the new ranking puts it
		for i, m := range d.fittest() {
			if m.Trial == d.popID {
				d.popSel = i
				break
			}
		}
	}
	for _, r := range s.Reports {
		d.learn.add(r)
	}
}

// Apply folds engine events in: finished trials go to the recent table.
func (d *Dashboard) Apply(events []engine.Event) {
	for _, ev := range events {
		if ev.Kind == engine.LearnerReport && ev.Report != nil {
			d.learn.add(*ev.Report)
		}
		if ev.Kind == engine.TrialFinished {
			d.addTrial(&ev.Trial)
		}
	}
	d.trimRecent()
}

// ApplyHistory takes the trials finished before this view began. They may be shared
// with other views (SSH sessions): they are read, never changed or kept whole.
func (d *Dashboard) ApplyHistory(trials []engine.Trial) {
	for i := range trials {
		d.addTrial(&trials[i])
		if len(d.recent) > 2*recentKept {
			d.trimRecent()
		}
	}
	d.trimRecent()
}

// addTrial takes one finished trial.
func (d *Dashboard) addTrial(t *engine.Trial) {
	if !t.Final() {
		return
	}
	d.recent = append(d.recent, *t)
	if d.chosen { // the rows move down one under the selection: it stays on its trial
		d.sel = min(d.sel+1, len(d.recent)-1)
	}
	d.rungs.add(*t)
	if t.State == engine.Done {
		v, ok := t.Metrics[d.obj.Name]
		d.addPoint(point{id: t.ID, v: v, ok: ok})
		d.addToFront(t.Metrics)
	}
}

// trimRecent keeps the newest recentKept trials.
func (d *Dashboard) trimRecent() {
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

// addToFront adds a trial's objectives to the Pareto data.
func (d *Dashboard) addToFront(m map[string]float64) {
	objs := d.exp.Config.Objectives
	if len(objs) < 2 {
		return
	}
	vals := make([]float64, len(objs))
	for i, o := range objs {
		v, ok := m[o.Name]
		if !ok {
			return
		}
		vals[i] = v
	}
	d.objVals = append(d.objVals, vals)
	d.plot(vals)
}

// plot adds one trial's values of the plotted pair to the chart's points and front.
func (d *Dashboard) plot(vals []float64) {
	objs := d.exp.Config.Objectives
	d.front.maxY, d.front.maxX = objs[d.pair[0]].Maximise(), objs[d.pair[1]].Maximise()
	d.xy = append(d.xy, canvas.Float64Point{X: vals[d.pair[1]], Y: vals[d.pair[0]]})
	d.front.add(d.xy, len(d.xy)-1)
}

// NextPair shows the next pair of objectives on the Pareto chart: (0,1), (0,2), ...
// (1,2), ... and round again.
func (d *Dashboard) NextPair() {
	n := len(d.exp.Config.Objectives)
	if n < 3 {
		return
	}
	y, x := d.pair[0], d.pair[1]+1
	if x == n {
		y++
		x = y + 1
	}
	if x >= n {
		y, x = 0, 1
	}
	d.pair = [2]int{y, x}
	d.xy, d.front.members = d.xy[:0], d.front.members[:0]
	for _, v := range d.objVals {
		d.plot(v)
	}
	d.chartsRows = nil
}

// SetSize sets the lines the dashboard is drawn in; the width is the session's.
func (d *Dashboard) SetSize(_, h int) { d.height = h }

// Key handles the dashboard's own keys: moving the selection, and the chart's pair.
func (d *Dashboard) Key(msg tea.KeyMsg) tea.Cmd {
	k := d.common.Keys
	switch {
	case key.Matches(msg, k.Up):
		d.Select(-1)
	case key.Matches(msg, k.Down):
		d.Select(1)
	case key.Matches(msg, k.Focus):
		d.ToggleFocus()
	case key.Matches(msg, k.Objectives):
		d.NextPair()
	}
	return nil
}

func (d *Dashboard) ShortHelp() []key.Binding  { return d.common.Keys.Dashboard().ShortHelp() }
func (d *Dashboard) FullHelp() [][]key.Binding { return d.common.Keys.Dashboard().FullHelp() }

// Status is the latest engine status the dashboard has.
func (d *Dashboard) Status() engine.Status { return d.status }

// View renders the dashboard in the session's width and the height SetSize gave.
func (d *Dashboard) View() string {
	height := max(d.height, 1)
	w := max(d.common.Width, 20)
	header := d.header(w)
	bar := d.progress(w)
	running := d.running(w)
	if d.workers != nil {
		running += "\n" + workersPanel(d.common, d.workers(), time.Now(), w)
	}
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
	key := chartsKey{points: len(d.points), w: w, room: room, learn: d.learn.count, steers: len(d.status.Steers)}
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
		rows = append(rows, d.sideBySide(rewardChart(d.common, d.obj, d.points, d.steerMarks(), w/2-1, h1), d.bestDiagram(w-w/2), w, h1))
		if room-h1 >= 8 {
			h2 := min(room-h1, 12)
			rows = append(rows, d.sideBySide(d.secondRow(selected, w, h2)))
		}
	}
	d.chartsKey, d.chartsRows = key, rows
	return rows
}

// secondRow is the population or a learner's chart beside the Pareto front (or, with
// one objective, the alphas or the learner's chart).
func (d *Dashboard) secondRow(selected uint64, w, h int) (left, right string, _, _ int) {
	c := d.common
	left = populationBars(c, d.obj, d.status.Population, d.points, selected, w/2-1, h)
	learnerShown := false
	// A learner's chart (the controller's reward, DARTS' losses, NSGA-II's
	// hypervolume) takes the population's place where there is none, and with several
	// objectives, where the population ranked by the first says little.
	if d.learn.count > 0 && (len(d.status.Population) == 0 || len(d.exp.Config.Objectives) > 1) {
		left, learnerShown = d.learn.chart(c, w/2-1, h), true
	}
	switch objs := d.exp.Config.Objectives; {
	case len(objs) > 1:
		right = paretoChart(c, objs[d.pair[0]], objs[d.pair[1]], d.xy, d.front.members, w-w/2, h)
	case d.learn.alphas() != nil:
		right = alphaBars(c, d.learn.alphas(), w-w/2, h)
	case d.learn.count > 0 && !learnerShown:
		right = d.learn.chart(c, w-w/2, h)
	default:
		right = c.Styles.Muted.Render("one objective: no Pareto front")
	}
	return left, right, w, h
}

// sideBySide sets two panels side by side in w columns and at most h lines.
func (d *Dashboard) sideBySide(left, right string, w, h int) string {
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

// steerMarks are the trials from which this run's steering changes applied.
func (d *Dashboard) steerMarks() []uint64 {
	var out []uint64
	for _, en := range d.status.Steers {
		if en.Op == engine.OpSteer && (len(out) == 0 || out[len(out)-1] != en.Trial) {
			out = append(out, en.Trial)
		}
	}
	return out
}

// steeredLimits are the constraints with the limits steering has changed.
func steeredLimits(c engine.Constraints, knobs []learning.Knob) *engine.Constraints {
	for _, k := range knobs {
		switch k.Name {
		case "constraints.params":
			c.Params = k.Value
		case "constraints.flops":
			c.FLOPs = k.Value
		case "constraints.latency":
			c.Latency = k.Value
		}
	}
	return &c
}

func (d *Dashboard) header(w int) string {
	st, s := d.common.Styles, d.status
	state := strings.ToUpper(string(s.State))
	if s.State == engine.Paused && len(s.Running) > 0 {
		state += fmt.Sprintf(" · %d finishing", len(s.Running))
	}
	trials := fmt.Sprintf("%d trials", s.Done+s.Failed)
	if b := s.Budget.Trials; b > 0 {
		trials = fmt.Sprintf("%d/%d trials", s.Done+s.Failed, b)
	}
	// Parts by priority: on a narrow screen the later ones go first, whole; the
	// state and the count stay.
	type part struct {
		text string
		rank int
	}
	parts := []part{{"cellar", 5}, {d.exp.Config.Name, 4}, {trials, 0}}
	if s.Failed > 0 {
		parts = append(parts, part{fmt.Sprintf("%d failed", s.Failed), 2})
	}
	if f := s.Failure; f != nil { // why, first to go on a narrow screen once trials work
		rank := 3
		if s.Done == 0 {
			rank = 2 // nothing works yet: say why at once
		}
		parts = append(parts, part{"why: " + truncate(lastLine(f.Reason), 60), rank})
	}
	if s.Stopped > 0 {
		parts = append(parts, part{fmt.Sprintf("%d stopped early", s.Stopped), 3})
	}
	if f := s.Budget.Final; f > 0 {
		parts = append(parts, part{fmt.Sprintf("%d/%d at full fidelity", s.Full, f), 2})
	}
	if c := s.Control; c != nil && (s.State == engine.Paused && strings.HasPrefix(c.Did, "paused") || c.Did == "stopped") {
		parts = append(parts, part{controlNote(c), 2}) // goes before the best result

	}
	if c := d.exp.Config.Constraints; c != nil {
		parts = append(parts, part{steeredLimits(*c, s.Knobs).Label(), 3})
	}
	if r := d.rungs.line(); r != "" {
		parts = append(parts, part{r, 3})
	}
	if s.Learning != "" {
		step := 1
		of := ""
		if r, ok := d.learn.last(s.Learning); ok {
			step = r.Step + 1
			if r.Of > 0 {
				of = fmt.Sprintf("/%d", r.Of)
			}
		}
		parts = append(parts, part{fmt.Sprintf("training %s: epoch %d%s", s.Learning, step, of), 2})
	}
	if s.Best != nil {
		parts = append(parts, part{fmt.Sprintf("best %s %s (#%d)", d.obj.Name, num.Human(s.Best.Metrics[d.obj.Name]), s.Best.ID), 1})
	}
	parts = append(parts, part{s.Elapsed.Round(time.Second).String(), 1})
	left := st.HeaderState.Render(state)
	room := max(w-lipgloss.Width(left), 0)
	const sep = " │ "
	join := func() string {
		texts := make([]string, len(parts))
		for i, p := range parts {
			texts[i] = p.text
		}
		return strings.Join(texts, sep)
	}
	for lipgloss.Width(join())+2 > room && len(parts) > 1 { // 2: the header's padding
		drop := 0
		for i, p := range parts {
			if p.rank >= parts[drop].rank {
				drop = i
			}
		}
		if parts[drop].rank == 0 {
			break
		}
		parts = slices.Delete(parts, drop, drop+1)
	}
	line := st.Header.Width(room).MaxWidth(room).Render(truncate(join(), max(room-2, 0)))
	return truncate(lipgloss.JoinHorizontal(lipgloss.Top, left, line), w)
}

// controlNote says who paused or stopped the search, and when.
func controlNote(c *engine.Control) string {
	did := c.Did
	if strings.HasPrefix(did, "paused") {
		did = "paused"
	}
	if c.Who != "" {
		did += " by " + c.Who
	}
	return did + " at " + c.At.Local().Format("15:04:05")
}

func (d *Dashboard) progress(w int) string {
	s := d.status
	frac := 0.0
	if b := s.Budget.Trials; b > 0 {
		frac = float64(s.Done+s.Failed) / float64(b)
	} else if t := s.Budget.Time; t > 0 {
		frac = float64(s.Elapsed) / float64(t)
	}
	if f := s.Budget.Final; f > 0 {
		frac = math.Max(frac, float64(s.Full)/float64(f)) // whichever limit comes first
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
			val = num.Human(v)
		}
		mark := marker(!d.onPop && len(d.recent)-1-i == d.sel)
		row := truncate(fmt.Sprintf("%s%-6d %-6s %-7s %10s %8.1f  %s", mark, t.ID, t.Status(), truncate(t.Origin, 7), val, t.Duration().Seconds(), t.Arch), w)
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

// lastLine is the last line of s that is not blank: of a failure's reason, what the
// program printed last (a trainer's error), where the first line says only that it
// exited.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
