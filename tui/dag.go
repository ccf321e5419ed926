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
	n := c.inputs + len(c.nodes)
	x := func(node int) int { return node*gap + 1 }
	// last[v] is the last line (1-based below the node line) that node v's vertical
	// line reaches: its own line, and every line it feeds.
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
	wd := c.width(gap)
	grid := make([][]rune, len(c.nodes)+1)
	kind := make([][]cellKind, len(grid))
	for i := range grid {
		grid[i] = []rune(strings.Repeat(" ", wd))
		kind[i] = make([]cellKind, wd)
	}
	for v := 0; v < n; v++ {
		label := fmt.Sprintf("[%d]", v)
		for j, r := range label {
			if p := x(v) - 1 + j; p < wd {
				grid[0][p], kind[0][p] = r, kindNode
			}
		}
	}
	for i, es := range c.nodes {
		line, dest := i+1, c.inputs+i
		row := grid[line]
		for v := 0; v < n; v++ {
			if last[v] >= line {
				row[x(v)] = '│'
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
			row[x(dest)] = '╳' // no input reaches this node: it computes zeros
			continue
		}
		for p := x(lo); p <= x(dest); p++ {
			row[p] = '─'
		}
		for v := lo; v < dest; v++ {
			below := last[v] > line
			switch _, joins := from[v]; {
			case joins && v == lo && below:
				row[x(v)] = '├'
			case joins && v == lo:
				row[x(v)] = '└'
			case joins && below:
				row[x(v)] = '┼'
			case joins:
				row[x(v)] = '┴'
			case last[v] >= line:
				row[x(v)] = '┼'
			}
		}
		row[x(dest)] = '┘'
		if last[dest] > line {
			row[x(dest)] = '┤'
		}
		for v, op := range from {
			room := x(v+1) - x(v) - 2 // up to the next node's column, one wire left
			lbl := []rune(op)
			if len(lbl) > room {
				lbl = lbl[:max(room, 0)]
			}
			for j, r := range lbl {
				row[x(v)+1+j], kind[line][x(v)+1+j] = r, kindLabel
			}
		}
	}
	out := make([]string, len(grid))
	for i := range grid {
		out[i] = renderRuns(st, grid[i], kind[i])
	}
	return out, true
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
