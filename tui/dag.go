package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// A cell drawn as a DAG: its nodes side by side on the top line, then one line per
// computed node, in which a wire leaves each of the node's inputs (a vertical line
// from the input's box), is labelled with its op just after it leaves, and runs right
// into the node:
//
//	[0]   [1]   [2]   [3]
//	 ├cv3──┘     │     │
//	 ├cv3──┴cv3──┘     │
//	 └skip─┴cv3──┴cv1──┘
//
// Edges whose op is none are left out, as in the NAS papers' cell figures. Wires
// crossing a vertical line draw ┼ there; a joining input is always followed by its
// label, so the two read apart.

// dagCell is a cell: inputs input nodes, then one computed node per entry of nodes,
// each with its incoming edges.
type dagCell struct {
	inputs int
	nodes  [][]cellEdge
}

// cellKind says how a grid cell is styled.
type cellKind uint8

const (
	kindLine cellKind = iota
	kindLabel
	kindNode
)

// width is the columns the drawing needs with gap columns between nodes.
func (c dagCell) width(gap int) int { return (c.inputs+len(c.nodes)-1)*gap + 3 }

// gap is the distance between node centres: room for the longest label, the joining
// mark and at least one wire character.
func (c dagCell) gap() int {
	g := 4
	for _, es := range c.nodes {
		for _, e := range es {
			if !noEdge(e.op) {
				g = max(g, len([]rune(dagOp(e.op)))+2)
			}
		}
	}
	return g
}

func noEdge(op string) bool { return op == "none" || op == "zero" }

// draw renders the cell, or returns false when it needs more than w columns.
func (c dagCell) draw(st *Common, w int) ([]string, bool) {
	gap := c.gap()
	if c.width(gap) > w {
		return nil, false
	}
	d := newDagGrid(c, gap)
	for i, es := range c.nodes {
		d.node(i, es)
	}
	out := make([]string, len(d.grid))
	for i := range d.grid {
		out[i] = renderRuns(st, d.grid[i], d.kind[i])
	}
	return out, true
}

// dagGrid is a cell being drawn: line 0 holds the node labels, line i+1 the wires
// into intermediate node i.
type dagGrid struct {
	c     dagCell
	gap   int
	n     int   // nodes, inputs included
	last  []int // last[v]: the last line node v's vertical line reaches
	grid  [][]rune
	kind  [][]cellKind
	width int
}

func newDagGrid(c dagCell, gap int) *dagGrid {
	d := &dagGrid{c: c, gap: gap, n: c.inputs + len(c.nodes), width: c.width(gap)}
	d.last = c.reach(d.n)
	d.grid = make([][]rune, len(c.nodes)+1)
	d.kind = make([][]cellKind, len(d.grid))
	for i := range d.grid {
		d.grid[i] = []rune(strings.Repeat(" ", d.width))
		d.kind[i] = make([]cellKind, d.width)
	}
	for v := 0; v < d.n; v++ {
		for j, r := range fmt.Sprintf("[%d]", v) {
			if p := d.x(v) - 1 + j; p < d.width {
				d.grid[0][p], d.kind[0][p] = r, kindNode
			}
		}
	}
	return d
}

// x is node's column.
func (d *dagGrid) x(node int) int { return node*d.gap + 1 }

// reach is, for each of n nodes, the last line (1-based below the node line) its
// vertical line reaches: its own line, and every line it feeds.
func (c dagCell) reach(n int) []int {
	last := make([]int, n)
	for i, es := range c.nodes {
		line := i + 1
		last[c.inputs+i] = max(last[c.inputs+i], line)
		for _, e := range es {
			if !noEdge(e.op) && e.from >= 0 && e.from < n {
				last[e.from] = max(last[e.from], line)
			}
		}
	}
	return last
}

// node draws the line of intermediate node i: the wires passing by, the join of its
// inputs with each edge's operation, and the node's own corner.
func (d *dagGrid) node(i int, es []cellEdge) {
	line, dest := i+1, d.c.inputs+i
	row := d.grid[line]
	for v := 0; v < d.n; v++ {
		if d.last[v] >= line {
			row[d.x(v)] = '│'
		}
	}
	from := map[int]string{}
	lo := dest
	for _, e := range es {
		if noEdge(e.op) || e.from < 0 || e.from >= dest {
			continue
		}
		from[e.from] = dagOp(e.op)
		lo = min(lo, e.from)
	}
	if len(from) == 0 {
		row[d.x(dest)] = '╳' // no input reaches this node: it computes zeros
		return
	}
	for p := d.x(lo); p <= d.x(dest); p++ {
		row[p] = '─'
	}
	for v := lo; v < dest; v++ {
		_, joins := from[v]
		if r := junction(joins, v == lo, d.last[v] > line, d.last[v] >= line); r != 0 {
			row[d.x(v)] = r
		}
	}
	row[d.x(dest)] = '┘'
	if d.last[dest] > line {
		row[d.x(dest)] = '┤'
	}
	for v, op := range from {
		room := d.x(v+1) - d.x(v) - 2 // up to the next node's column, one wire left
		lbl := []rune(op)
		if len(lbl) > room {
			lbl = lbl[:max(room, 0)]
		}
		for j, r := range lbl {
			row[d.x(v)+1+j], d.kind[line][d.x(v)+1+j] = r, kindLabel
		}
	}
}

// junction is the mark where a node's column meets a wire to a later node: whether
// the node joins it (first: it is the wire's leftmost), whether its line goes on
// below, whether it passes this line at all. 0 leaves the wire.
func junction(joins, first, below, passes bool) rune {
	switch {
	case joins && first && below:
		return '├'
	case joins && first:
		return '└'
	case joins && below:
		return '┼'
	case joins:
		return '┴'
	case passes:
		return '┼'
	}
	return 0
}

// renderRuns styles a line of the grid run by run.
func renderRuns(c *Common, row []rune, kind []cellKind) string {
	st := c.Styles
	style := map[cellKind]lipgloss.Style{kindLine: st.Muted, kindLabel: st.Accent, kindNode: st.Label}
	var b strings.Builder
	for i := 0; i < len(row); {
		j := i
		for j < len(row) && kind[j] == kind[i] {
			j++
		}
		b.WriteString(style[kind[i]].Render(string(row[i:j])))
		i = j
	}
	return strings.TrimRight(b.String(), " ")
}

// dagOp is an op's label in a DAG, shorter than shortOp's so that a DARTS cell fits
// half of an 80-column terminal.
func dagOp(op string) string {
	return strings.NewReplacer("1x1", "1", "3x3", "3", "5x5", "5", "7x7", "7").Replace(shortOp(op))
}
