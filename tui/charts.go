package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/charmbracelet/lipgloss"

	"cellar/engine"
	"cellar/internal/num"
	"cellar/pareto"
	"cellar/spaces"
)

// point is one finished trial as the charts need it: its id and first objective.
type point struct {
	id uint64
	v  float64
	ok bool // the trial has the objective
}

// rewardChart plots every trial's first objective over trial index, and the best so far
// as a line; marks are the trials from which a steering change applied, drawn as
// dotted vertical lines. pts must be in id order.
func rewardChart(c *Common, obj engine.Objective, pts []point, marks []uint64, w, h int) string {
	st := c.Styles
	title := rewardTitle(c, obj, marks, w)
	if len(pts) == 0 || w < 20 || h < 5 {
		return title + "\n" + st.Muted.Render("no finished trials yet")
	}
	minY, maxY, ok := rewardRange(pts)
	if !ok {
		return title + "\n" + st.Muted.Render("no trial has "+obj.Name)
	}
	minX, maxX := float64(pts[0].id), float64(pts[len(pts)-1].id)
	lc := linechart.New(w, h-1, minX, math.Max(maxX, minX+1), minY, maxY,
		linechart.WithXYSteps(4, 2), linechart.WithStyles(st.Muted, st.Muted, st.Text),
		linechart.WithXLabelFormatter(xLabel), linechart.WithYLabelFormatter(yLabel))
	lc.DrawXYAxisAndLabel()
	drawBestSoFar(&lc, st.Accent, obj, pts, maxX)
	for _, m := range marks {
		if x := float64(m); x >= minX && x <= maxX {
			lc.DrawLineWithStyle(canvas.Float64Point{X: x, Y: minY}, canvas.Float64Point{X: x, Y: maxY}, runes.ThinLineStyle, st.Warn)
		}
	}
	drawColumnRanges(&lc, st.Muted, pts, minX, maxX)
	return title + "\n" + lc.View()
}

// rewardTitle names the objective and the trials from which steering applied.
func rewardTitle(c *Common, obj engine.Objective, marks []uint64, w int) string {
	st := c.Styles
	title := st.Title.Render("Reward: " + obj.Name)
	if len(marks) > 0 {
		ids := make([]string, len(marks))
		for i, m := range marks {
			ids[i] = fmt.Sprintf("#%d", m)
		}
		title += st.Warn.Render(truncate("  ┊ steered at "+strings.Join(ids, ", "), max(w-lipgloss.Width(title), 0)))
	}
	return title
}

// rewardRange is the y range of the trials that have the objective, padded to keep
// the best-so-far line off the axes; false when none has it.
func rewardRange(pts []point) (minY, maxY float64, ok bool) {
	minY, maxY = math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if p.ok {
			minY, maxY = math.Min(minY, p.v), math.Max(maxY, p.v)
		}
	}
	if math.IsInf(minY, 1) {
		return 0, 0, false
	}
	if maxY == minY {
		maxY = minY + 1
	}
	pad := (maxY - minY) * 0.12
	if minY >= 0 && minY-pad < 0 {
		return 0, maxY + pad, true // a metric that is never negative gets no negative labels
	}
	return minY - pad, maxY + pad, true
}

// drawBestSoFar draws the best value so far as a step line up to maxX.
func drawBestSoFar(lc *linechart.Model, style lipgloss.Style, obj engine.Objective, pts []point, maxX float64) {
	var best *canvas.Float64Point
	for _, p := range pts {
		if !p.ok {
			continue
		}
		if best == nil || (obj.Maximise() && p.v > best.Y) || (!obj.Maximise() && p.v < best.Y) {
			f := canvas.Float64Point{X: float64(p.id), Y: p.v}
			if best != nil {
				lc.DrawLineWithStyle(*best, canvas.Float64Point{X: f.X, Y: best.Y}, runes.ThinLineStyle, style)
			}
			best = &f
		}
	}
	if best != nil && maxX > best.X {
		lc.DrawLineWithStyle(*best, canvas.Float64Point{X: maxX, Y: best.Y}, runes.ThinLineStyle, style)
	}
}

// drawColumnRanges marks each column's lowest and highest trial. A column can show
// one value range: drawing every trial (100,000 of them) would cost a frame ~100 ms.
func drawColumnRanges(lc *linechart.Model, style lipgloss.Style, pts []point, minX, maxX float64) {
	cols := max(lc.GraphWidth(), 1)
	lo, hi := make([]float64, cols), make([]float64, cols)
	seen := make([]bool, cols)
	span := math.Max(maxX-minX, 1)
	for _, p := range pts {
		if !p.ok {
			continue
		}
		col := min(int((float64(p.id)-minX)/span*float64(cols-1)), cols-1)
		if !seen[col] || p.v < lo[col] {
			lo[col] = p.v
		}
		if !seen[col] || p.v > hi[col] {
			hi[col] = p.v
		}
		seen[col] = true
	}
	for col := range cols {
		if seen[col] {
			x := minX + float64(col)/float64(max(cols-1, 1))*span
			lc.DrawRuneWithStyle(canvas.Float64Point{X: x, Y: lo[col]}, '·', style)
			lc.DrawRuneWithStyle(canvas.Float64Point{X: x, Y: hi[col]}, '·', style)
		}
	}
}

// paretoChart plots two objectives against each other (xy: X the second, Y the first)
// and marks the non-dominated points, whose indices front lists.
func paretoChart(c *Common, a, b engine.Objective, xy []canvas.Float64Point, front []int, w, h int) string {
	st := c.Styles
	title := st.Title.Render(fmt.Sprintf("Pareto: %s vs %s", a.Name, b.Name))
	if len(xy) == 0 || w < 20 || h < 5 {
		return title + "\n" + st.Muted.Render("no finished trials yet")
	}
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, f := range xy {
		minX, maxX = math.Min(minX, f.X), math.Max(maxX, f.X)
		minY, maxY = math.Min(minY, f.Y), math.Max(maxY, f.Y)
	}
	if maxX == minX {
		maxX++
	}
	if maxY == minY {
		maxY++
	}
	lc := linechart.New(w, h-1, minX, maxX, minY, maxY, linechart.WithXYSteps(3, 2), linechart.WithStyles(st.Muted, st.Muted, st.Text),
		linechart.WithXLabelFormatter(yLabel), linechart.WithYLabelFormatter(yLabel))
	lc.DrawXYAxisAndLabel()
	onFront := make(map[int]bool, len(front))
	for _, i := range front {
		onFront[i] = true
	}
	// One dot per character cell is all the chart can show.
	gw, gh := max(lc.GraphWidth(), 1), max(lc.GraphHeight(), 1)
	cells := make([]bool, (gw+1)*(gh+1))
	for i, f := range xy {
		if onFront[i] {
			continue
		}
		cx, cy := int((f.X-minX)/(maxX-minX)*float64(gw)), int((f.Y-minY)/(maxY-minY)*float64(gh))
		if cell := cy*(gw+1) + cx; !cells[cell] {
			cells[cell] = true
			lc.DrawRuneWithStyle(f, '·', st.Muted)
		}
	}
	for _, i := range front {
		lc.DrawRuneWithStyle(xy[i], '◆', st.Good)
	}
	return title + "\n" + lc.View()
}

// frontSet keeps the Pareto front of a growing set of points: each new point is
// compared with the current front only, which is small, instead of sorting all points
// again each frame.
type frontSet struct {
	maxY, maxX bool
	members    []int // indices into the points, in no order
}

// dominates says whether p dominates q.
func (f *frontSet) dominates(p, q canvas.Float64Point) bool {
	return pareto.Dominates([]float64{p.Y, p.X}, []float64{q.Y, q.X}, []bool{f.maxY, f.maxX})
}

// add takes point i of pts (pts[i] is the new point).
func (f *frontSet) add(pts []canvas.Float64Point, i int) {
	p := pts[i]
	for _, m := range f.members {
		if f.dominates(pts[m], p) {
			return
		}
	}
	kept := f.members[:0]
	for _, m := range f.members {
		if !f.dominates(p, pts[m]) {
			kept = append(kept, m)
		}
	}
	f.members = append(kept, i)
}

// populationBars shows the strategy's population as bars sorted by fitness, or, for
// strategies without one, the distribution of finished trials' scores.
// The member whose trial is selected is marked.
func populationBars(c *Common, obj engine.Objective, pop []engine.Member, pts []point, selected uint64, w, h int) string {
	st := c.Styles
	var vals []float64
	var ids []uint64
	title := "Population"
	if len(pop) > 0 {
		for _, m := range pop {
			ids = append(ids, m.Trial)
			v := m.Score
			if !obj.Maximise() {
				v = -v
			}
			vals = append(vals, v)
		}
	} else {
		title = "Scores"
		for _, p := range pts {
			if p.ok {
				vals = append(vals, p.v)
				ids = append(ids, p.id)
			}
		}
	}
	title = st.Title.Render(fmt.Sprintf("%s (%d)", title, len(vals)))
	if len(vals) == 0 || h < 2 {
		return title + "\n" + st.Muted.Render("empty")
	}
	idx := topK(vals, h-1, obj.Maximise())
	lo, hi := vals[idx[len(idx)-1]], vals[idx[0]]
	if lo > hi {
		lo, hi = hi, lo
	}
	barW := max(w-22, 4)
	lines := []string{title}
	for _, i := range idx {
		frac := 1.0
		if hi > lo {
			frac = 0.1 + 0.9*(vals[i]-lo)/(hi-lo)
		}
		bar := strings.Repeat("█", max(int(frac*float64(barW)), 1))
		line := fmt.Sprintf("%s%-7s %s %s", marker(selected != 0 && ids[i] == selected), fmt.Sprintf("#%d", ids[i]), st.Accent.Render(bar), st.Text.Render(num.Human(vals[i])))
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// topK returns the indices of the k best values, best first, in one pass: a panel shows
// a handful of 100,000 scores, and sorting them all each frame cost ~40 ms.
func topK(vals []float64, k int, maximise bool) []int {
	better := func(a, b float64) bool {
		if maximise {
			return a > b
		}
		return a < b
	}
	var top []int
	for i, v := range vals {
		if len(top) == k && !better(v, vals[top[k-1]]) {
			continue
		}
		at := len(top)
		for at > 0 && better(v, vals[top[at-1]]) {
			at--
		}
		if len(top) < k {
			top = append(top, 0)
		}
		copy(top[at+1:], top[at:len(top)-1])
		top[at] = i
	}
	return top
}

// archDiagram draws an architecture as its space describes it (spaces.Drawable): its
// notes, then its cells as DAGs, or as edge lists where a DAG does not fit.
func archDiagram(c *Common, title string, space spaces.Space, arch string, w int) string {
	st := c.Styles
	if arch == "" {
		return st.Title.Render(title) + "\n" + st.Muted.Render("none yet")
	}
	a, err := space.Parse([]byte(arch))
	if err != nil {
		return st.Bad.Render(truncate("cannot draw: "+err.Error(), w))
	}
	lines := []string{st.Title.Render(title)}
	d, ok := a.(spaces.Drawable)
	if !ok {
		return strings.Join(append(lines, truncate(arch, w)), "\n")
	}
	diagram := d.Diagram()
	for _, n := range diagram.Notes {
		lines = append(lines, truncate(n, w))
	}
	lines = append(lines, cellDiagrams(c, diagram, w)...)
	return strings.Join(lines, "\n")
}

// cellDiagrams draws a diagram's cells: as DAGs side by side when they fit, one
// above the other when each fits, else as edge lists.
func cellDiagrams(c *Common, d spaces.Diagram, w int) []string {
	st := c.Styles
	if len(d.Cells) == 0 {
		return nil
	}
	edge := func(from int, op string) string {
		return st.Muted.Render(fmt.Sprintf("%d", from)) + " ─" + st.Accent.Render(shortOp(op)) + "→"
	}
	dags := make([]dagCell, len(d.Cells))
	for ci, cell := range d.Cells {
		dags[ci].inputs = cell.Inputs
		for _, n := range cell.Nodes {
			edges := make([]cellEdge, len(n))
			for k, e := range n {
				edges[k] = cellEdge{from: e.From, op: e.Op}
			}
			dags[ci].nodes = append(dags[ci].nodes, edges)
		}
	}
	var out []string
	if d.Output != "" {
		out = []string{st.Muted.Render(d.Output)}
	}
	if side, ok := sideBySide(c, d.Cells, dags, w); ok {
		return append(side, out...)
	}
	var lines []string
	for ci, cell := range d.Cells {
		if cell.Name != "" {
			lines = append(lines, st.Label.Render(cell.Name))
		}
		if dag, ok := dags[ci].draw(c, w); ok {
			lines = append(lines, dag...)
			continue
		}
		for k, n := range cell.Nodes {
			parts := make([]string, len(n))
			for j, e := range n {
				parts[j] = edge(e.From, e.Op)
			}
			lines = append(lines, truncate(fmt.Sprintf("node %d ← ", k+cell.Inputs)+strings.Join(parts, "  "), w))
		}
	}
	return append(lines, out...)
}

// sideBySide draws two or more named cells' DAGs next to each other, if they fit.
func sideBySide(c *Common, cells []spaces.CellGraph, dags []dagCell, w int) ([]string, bool) {
	if len(cells) < 2 {
		return nil, false
	}
	st := c.Styles
	part := (w - 2*(len(cells)-1)) / len(cells)
	if part <= 0 {
		return nil, false
	}
	drawn := make([][]string, len(cells))
	cols := make([]int, len(cells))
	for i := range cells {
		var ok bool
		if drawn[i], ok = dags[i].draw(c, part); !ok {
			return nil, false
		}
		cols[i] = lipgloss.Width(cells[i].Name)
		for _, l := range drawn[i] {
			cols[i] = max(cols[i], lipgloss.Width(l))
		}
	}
	pad := func(s string, col int) string { return s + strings.Repeat(" ", col+3-lipgloss.Width(s)) }
	header, rows := "", 0
	for i, cell := range cells {
		if i == len(cells)-1 {
			header += st.Label.Render(cell.Name)
		} else {
			header += pad(st.Label.Render(cell.Name), cols[i])
		}
		rows = max(rows, len(drawn[i]))
	}
	lines := []string{header}
	for r := range rows {
		line := ""
		for i := range cells {
			l := ""
			if r < len(drawn[i]) {
				l = drawn[i][r]
			}
			if i < len(cells)-1 {
				l = pad(l, cols[i])
			}
			line += l
		}
		lines = append(lines, line)
	}
	return lines, true
}

type cellEdge struct {
	from int
	op   string
}

// shortOp abbreviates op names for diagrams.
func shortOp(op string) string {
	r := strings.NewReplacer("nor_conv_", "conv", "skip_connect", "skip", "avg_pool_", "avg", "max_pool_", "max",
		"sep_conv_", "sep", "dilated_conv_", "dil", "conv_", "conv", "identity", "id")
	return r.Replace(op)
}

// curveSeries is one metric of a learning curve, drawn in one style.
type curveSeries struct {
	name  string
	pts   []canvas.Float64Point // (epoch, value)
	style lipgloss.Style
}

// curveChart draws series over epochs in one chart of w x h cells with a legend on
// its title line. It needs two points of some series to draw a line.
func curveChart(c *Common, title string, series []curveSeries, w, h int) string {
	st := c.Styles
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	legend := []string{st.Title.Render(title)}
	for _, s := range series {
		legend = append(legend, s.style.Render("━ "+s.name))
		for _, p := range s.pts {
			minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
			minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
		}
	}
	head := truncate(strings.Join(legend, "  "), w)
	if !(maxX > minX) || w < 20 || h < 5 {
		return head
	}
	if maxY == minY {
		maxY = minY + 1
	}
	lc := linechart.New(w, h-1, minX, maxX, minY, maxY,
		linechart.WithXYSteps(4, 2), linechart.WithStyles(st.Muted, st.Muted, st.Text),
		linechart.WithXLabelFormatter(xLabel), linechart.WithYLabelFormatter(yLabel))
	lc.DrawXYAxisAndLabel()
	for _, s := range series {
		for i := 1; i < len(s.pts); i++ {
			lc.DrawBrailleLineWithStyle(s.pts[i-1], s.pts[i], s.style)
		}
	}
	return head + "\n" + lc.View()
}

// learningCurve draws a trial's curve as a loss chart and an accuracy chart, side by
// side when w allows, each h lines high.
func learningCurve(c *Common, curve []engine.CurvePoint, w, h int) string {
	st := c.Styles
	series := func(name string, style lipgloss.Style) curveSeries {
		s := curveSeries{name: name, style: style}
		for _, p := range curve {
			if v, ok := p.Metrics[name]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				s.pts = append(s.pts, canvas.Float64Point{X: p.Epoch, Y: v})
			}
		}
		return s
	}
	loss := curveChart(c, "Loss", []curveSeries{series("train_loss", st.Warn)}, w/2-1, h)
	acc := curveChart(c, "Accuracy", []curveSeries{series("train_accuracy", st.Muted), series("val_accuracy", st.Accent)}, w-w/2, h)
	if w < 80 {
		return loss + "\n" + acc
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, lipgloss.NewStyle().Width(w/2).Render(loss), acc)
}

// yLabel and xLabel are the charts' axis labels: values for a person, and trial ids
// (whole numbers) on the x axis.
func yLabel(_ int, v float64) string { return num.Human(v) }

func xLabel(_ int, v float64) string { return strconv.Itoa(int(math.Round(v))) }
