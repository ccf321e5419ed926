package tui

import (
	"cellar/learning"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/charmbracelet/lipgloss"

	"cellar/internal/num"
)

// learners keeps what learners (REINFORCE's controller, DARTS, a one-shot supernet)
// report, by source in the order they first reported, for the dashboard.
type learners struct {
	sources []string
	reports map[string][]learning.Report
	count   int // reports held, for redrawing when it changes
}

// add takes a report unless one of its source at that step or later is held.
func (l *learners) add(r learning.Report) {
	if l.reports == nil {
		l.reports = map[string][]learning.Report{}
	}
	rs, ok := l.reports[r.Source]
	if !ok {
		l.sources = append(l.sources, r.Source)
	}
	if len(rs) > 0 && rs[len(rs)-1].Step >= r.Step {
		return
	}
	l.reports[r.Source] = append(rs, r)
	l.count++
}

// last is a source's latest report.
func (l *learners) last(source string) (learning.Report, bool) {
	rs := l.reports[source]
	if len(rs) == 0 {
		return learning.Report{}, false
	}
	return rs[len(rs)-1], true
}

// alphas are the latest architecture weights any learner reported.
func (l *learners) alphas() *learning.Alphas {
	for _, s := range l.sources {
		if r, ok := l.last(s); ok && r.Alphas != nil {
			return r.Alphas
		}
	}
	return nil
}

// plotted are the values drawn as lines, in this order; the others go in the title.
var plotted = []string{"reward", "baseline", "train_loss", "val_loss", "hv_fraction"}

// chart draws the newest source's series over steps, with its other values (entropy,
// seconds) in the title.
func (l *learners) chart(c *Common, w, h int) string {
	if len(l.sources) == 0 {
		return c.Styles.Muted.Render("no learner reports")
	}
	src := l.sources[len(l.sources)-1]
	rs := l.reports[src]
	lastR := rs[len(rs)-1]
	title := fmt.Sprintf("%s %d", src, lastR.Step)
	if lastR.Of > 0 {
		title += fmt.Sprintf("/%d", lastR.Of)
	}
	var others []string
	for _, k := range sortedKeys(lastR.Values) {
		if !slices.Contains(plotted, k) {
			others = append(others, fmt.Sprintf("%s %s", k, num.Human(lastR.Values[k])))
		}
	}
	if len(others) > 0 {
		title += " · " + strings.Join(others, " ")
	}
	var series []curveSeries
	for i, k := range plotted {
		s := curveSeries{name: k, style: []lipgloss.Style{c.Styles.Accent, c.Styles.Muted, c.Styles.Warn, c.Styles.Good, c.Styles.Accent}[i]}
		for _, r := range rs {
			if v, ok := r.Values[k]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				s.pts = append(s.pts, canvas.Float64Point{X: float64(r.Step), Y: v})
			}
		}
		if len(s.pts) > 0 {
			series = append(series, s)
		}
	}
	return curveChart(c, title, series, w, h)
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// shades draw a weight as one cell, from the lowest of its edge to the highest: early
// in a search the weights differ by little, and the order is what matters.
var shades = []rune(" ·░▒▓█")

// alphaBars draws architecture weights as a heatmap: a row per edge, a column per op,
// and the edge's strongest op with its weight at the end.
func alphaBars(c *Common, a *learning.Alphas, w, h int) string {
	st := c.Styles
	name := 0
	for _, e := range a.Edges {
		name = max(name, len(e))
	}
	cols := make([]string, len(a.Ops))
	for i, op := range a.Ops {
		cols[i] = shortOp(op)
	}
	lines := []string{st.Title.Render("Alphas") + st.Muted.Render(" columns: "+strings.Join(cols, " "))}
	rows := len(a.Edges)
	if rows > h-1 {
		rows = max(h-2, 0)
	}
	for i := 0; i < rows; i++ {
		ws := a.Weights[i]
		var cells strings.Builder
		best := 0
		lo, hi := slices.Min(ws), slices.Max(ws)
		for j, v := range ws {
			k := len(shades) / 2
			if hi > lo {
				k = 1 + int(math.Round((v-lo)/(hi-lo)*float64(len(shades)-2)))
			}
			cells.WriteRune(shades[k])
			if v > ws[best] {
				best = j
			}
		}
		lines = append(lines, fmt.Sprintf("%-*s %s %s", name, a.Edges[i], st.Accent.Render(cells.String()), st.Text.Render(fmt.Sprintf("%s %.2f", shortOp(a.Ops[best]), ws[best]))))
	}
	if rows < len(a.Edges) {
		lines = append(lines, st.Muted.Render(fmt.Sprintf("… %d more edges", len(a.Edges)-rows)))
	}
	for i, l := range lines {
		lines[i] = truncate(l, w)
	}
	return strings.Join(lines, "\n")
}
