package spaces

import (
	"fmt"
	"regexp"
	"strconv"
)

// Drawable is an arch that says how to draw it (the TUI's diagrams read nothing
// else): a space whose archs implement it is drawn with no edit outside spaces/.
type Drawable interface {
	Diagram() Diagram
}

// Diagram is what to draw of an arch: lines of text, then cell graphs.
type Diagram struct {
	Notes []string    // lines shown first (a scaled arch's coefficients, a network's stages)
	Cells []CellGraph // cells drawn as DAGs (NB201's one; DARTS' normal and reduction)
	// Output is a line under the cells ("output: concat of nodes 2-5").
	Output string
}

// CellGraph is one cell as a DAG: Inputs input nodes, then Nodes, each with its
// incoming edges (From indexes inputs then nodes).
type CellGraph struct {
	Name   string
	Inputs int
	Nodes  [][]GraphEdge
}

// GraphEdge is one op-labelled edge into a node.
type GraphEdge struct {
	From int
	Op   string
}

func (a NB201Arch) Diagram() Diagram {
	g := CellGraph{Inputs: 1, Nodes: make([][]GraphEdge, 3)}
	for i, e := range nb201Edges {
		g.Nodes[e[0]-1] = append(g.Nodes[e[0]-1], GraphEdge{From: e[1], Op: NB201Ops[a[i]]})
	}
	return Diagram{Cells: []CellGraph{g}}
}

func (a CellArch) Diagram() Diagram {
	d := Diagram{}
	for _, c := range []struct {
		name  string
		nodes []CellNode
	}{{"normal cell", a.Normal()}, {"reduction cell", a.Reduce()}} {
		g := CellGraph{Name: c.name, Inputs: 2}
		for _, n := range c.nodes {
			g.Nodes = append(g.Nodes, []GraphEdge{{int(n.In[0]), CellOps[n.Op[0]]}, {int(n.In[1]), CellOps[n.Op[1]]}})
		}
		d.Cells = append(d.Cells, g)
	}
	d.Output = fmt.Sprintf("output: concat of nodes 2-%d", len(a.Normal())+1)
	return d
}

func (a NetworkArch) Diagram() Diagram {
	var d Diagram
	for i, s := range a.Stages() {
		d.Notes = append(d.Notes, fmt.Sprintf("stage %d  %s ×%d  width %d  k%d  e%d", i, s.Block, s.Depth, s.Width, s.Kernel, s.Expansion))
	}
	return d
}

func (a ScaledArch) Diagram() Diagram {
	s := a.Scaling()
	d := Diagram{Notes: []string{fmt.Sprintf("scaled: depth ×%.2f  width ×%.2f  resolution ×%.2f  (α %.3g β %.3g γ %.3g φ %.3g)",
		s.Depth, s.Width, s.Resolution, a.Alpha, a.Beta, a.Gamma, a.Phi)}}
	if b, ok := a.Base().(Drawable); ok {
		base := b.Diagram()
		d.Notes = append(d.Notes, base.Notes...)
		d.Cells, d.Output = base.Cells, base.Output
	}
	return d
}

// Editable is a space whose archs can be edited token by token in their string form
// (the TUI's editor): each Field is a token and the values it may take.
type Editable interface {
	Fields(arch string) []Field
}

// Field is one editable token of an arch's string form.
type Field struct {
	Start, End int      // the token's byte range in the string
	Choices    []string // the values it may take
}

var (
	cellEdgeRE     = regexp.MustCompile(`([a-z0-9_]+)~(\d+)`)
	networkFieldRE = regexp.MustCompile(`(conv|bottleneck|mbconv)|([dwke])=(\d+)`)
)

// edgeFields are the op and the input of each `op~input` edge of a cell string.
func edgeFields(arch string, ops []string) []Field {
	var out []Field
	for _, m := range cellEdgeRE.FindAllStringSubmatchIndex(arch, -1) {
		out = append(out, Field{m[2], m[3], ops}, Field{m[4], m[5], numbers(0, 9)})
	}
	return out
}

func (s *NB201) Fields(arch string) []Field { return edgeFields(arch, NB201Ops) }
func (s *Cell) Fields(arch string) []Field  { return edgeFields(arch, CellOps) }

// Fields of a network: each stage's block and its d, w, k and e settings.
func (s *Network) Fields(arch string) []Field {
	var out []Field
	for _, m := range networkFieldRE.FindAllStringSubmatchIndex(arch, -1) {
		if m[2] >= 0 {
			out = append(out, Field{m[2], m[3], NetworkBlocks})
			continue
		}
		var ch []string
		switch arch[m[4]:m[5]] {
		case "d":
			ch = numbers(1, 10)
		case "w":
			ch = itoas(NetworkWidths)
		case "k":
			ch = itoas(NetworkKernels)
		case "e":
			ch = itoas(NetworkExpansions)
		}
		out = append(out, Field{m[6], m[7], ch})
	}
	return out
}

func numbers(lo, hi int) []string {
	var out []string
	for i := lo; i <= hi; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func itoas(v []int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return out
}

var (
	_ Drawable = NB201Arch{}
	_ Drawable = CellArch{}
	_ Drawable = NetworkArch{}
	_ Drawable = ScaledArch{}
	_ Editable = (*NB201)(nil)
	_ Editable = (*Cell)(nil)
	_ Editable = (*Network)(nil)
)
