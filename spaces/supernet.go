package spaces

import (
	"fmt"
	"math"
	"sort"
)

// Supernet is a network holding every candidate op of a space on each of its choice
// edges, the candidates' outputs summed with mixing weights: the shared network of
// one-shot search (one-hot weights: one path) and DARTS (softmax weights).
type Supernet struct {
	Net   *Net
	Ops   []string // the candidate ops; each Mix layer's inputs come in this order
	Edges []string // the choice edges, one row of weights each, e.g. "node2<-1"
	// Mixes are the Add layers that sum an edge's candidates. Every cell of the
	// skeleton has its own, all sharing the weights of their edge.
	Mixes []Mix
}

// Mix is one Add layer of a Supernet whose inputs are scaled by the weights of Edge.
// Branches are the layers of each input's op, as id ranges [lo, hi): layers used by
// nothing but that input, which need not run while its weight is zero.
type Mix struct {
	Layer, Edge int
	Branches    [][2]int
}

// SupernetOptions size a supernet apart from the space's own skeleton, as one-shot
// methods search on a smaller network than they evaluate: zero fields keep the
// space's values.
type SupernetOptions struct {
	Input    [3]int // channels, height, width of the data it trains on
	Classes  int
	Channels int // of the first stage (nb201) or cells (cell)
	Depth    int // cells per stage (nb201) or cells in all (cell)
}

// OneShot is a space that has a supernet.
type OneShot interface {
	Supernet(o SupernetOptions) (*Supernet, error)
	// PathWeights are an arch's mixing weights (edges x ops): 1 for each op the arch
	// puts on an edge, 0 elsewhere, so the supernet computes the arch's cell. (A cell
	// node that takes one input twice through one op has that op weighted 2: the
	// supernet holds one instance of it where the arch's network has two.)
	PathWeights(a Arch) [][]float32
	// Derive is the discrete arch that the mixing weights w (edges x ops, each row a
	// distribution) favour.
	Derive(w [][]float64) (Arch, error)
	// SearchDepth is the supernet depth one-shot methods use when not told otherwise:
	// NB201's benchmark searches with one cell a stage, DARTS with 5 cells where it
	// evaluates 8.
	SearchDepth() int
}

// OnePerEdge is a OneShot space whose every arch puts exactly one op on every edge
// (NB201's cells): a fair set of paths, and a few-shot split on the first edge's op,
// need that.
type OnePerEdge interface {
	OneShot
	OnePerEdge()
}

// SearchDepthOf is the space's SearchDepth (through any constraint), or 0 for a
// space with no supernet.
func SearchDepthOf(s Space) int {
	if o, ok := Base(s).(OneShot); ok {
		return o.SearchDepth()
	}
	return 0
}

func (o SupernetOptions) apply(base *Options, channels, depth *int) {
	if o.Input != [3]int{} {
		base.Input = o.Input
	}
	if o.Classes != 0 {
		base.Classes = o.Classes
	}
	if o.Channels != 0 {
		*channels = o.Channels
	}
	if o.Depth != 0 {
		*depth = o.Depth
	}
}

// mixed adds every op's output (each built by op) and their weighted sum, recording
// the Mix.
func (sn *Supernet) mixed(b *builder, name string, edge int, op func(name, op string) int) int {
	terms := make([]int, len(sn.Ops))
	branches := make([][2]int, len(sn.Ops))
	for i, o := range sn.Ops {
		lo := len(b.net.Layers)
		terms[i] = op(name, o)
		branches[i] = [2]int{lo, len(b.net.Layers)}
	}
	id := b.add(Layer{Kind: Add, Name: name + "/mix", Inputs: terms})
	sn.Mixes = append(sn.Mixes, Mix{Layer: id, Edge: edge, Branches: branches})
	return id
}

func checkWeights(space string, w [][]float64, edges, ops int) error {
	if len(w) != edges {
		return fmt.Errorf("%s: %d rows of weights for %d edges", space, len(w), edges)
	}
	for i, row := range w {
		if len(row) != ops {
			return fmt.Errorf("%s: edge %d has %d weights for %d ops", space, i, len(row), ops)
		}
		for j, v := range row {
			if math.IsNaN(v) {
				return fmt.Errorf("%s: edge %d op %d: weight is NaN", space, i, j)
			}
		}
	}
	return nil
}

// argmax is the index of the largest value of row among the allowed indexes (all when
// skip is negative, else all but skip); ties go to the lowest index.
func argmax(row []float64, skip int) int {
	best := -1
	for i, v := range row {
		if i != skip && (best < 0 || v > row[best]) {
			best = i
		}
	}
	return best
}

// Supernet of NB201: the benchmark's skeleton with every edge of every cell mixing
// the five ops; the edges are shared by all cells, as in the benchmark's DARTS, ENAS
// and SPOS baselines.
// SearchDepth is one cell a stage, as NAS-Bench-201's own searches use.
func (s *NB201) SearchDepth() int { return 1 }

// OnePerEdge marks NB201 as a space of one op on every edge.
func (s *NB201) OnePerEdge() {}

func (s *NB201) Supernet(o SupernetOptions) (*Supernet, error) {
	opt := s.opt
	o.apply(&opt.Options, &opt.Channels, &opt.Cells)
	if _, err := NewNB201(opt); err != nil {
		return nil, fmt.Errorf("supernet: %w", err)
	}
	s = &NB201{opt: opt}
	sn := &Supernet{Ops: NB201Ops}
	for _, e := range nb201Edges {
		sn.Edges = append(sn.Edges, fmt.Sprintf("node%d<-%d", e[0], e[1]))
	}
	b := newBuilder(s.opt.shape())
	net, err := s.skeleton(b, func(name string, h, c int) int {
		return nb201Cell(b, name, h, func(en string, i, src int) int {
			return sn.mixed(b, en, i, func(name, op string) int { return nb201Op(b, name+"/"+op, op, src, c) })
		})
	})
	if err != nil {
		return nil, fmt.Errorf("nb201 supernet: %w", err)
	}
	sn.Net = net
	return sn, nil
}

func (s *NB201) PathWeights(a Arch) [][]float32 {
	x := s.arch(a)
	w := make([][]float32, len(x))
	for e, op := range x {
		w[e] = make([]float32, len(NB201Ops))
		w[e][op] = 1
	}
	return w
}

// Derive takes the top op of each edge, none included (as the benchmark's DARTS does).
func (s *NB201) Derive(w [][]float64) (Arch, error) {
	var a NB201Arch
	if err := checkWeights("nb201", w, len(a), len(NB201Ops)); err != nil {
		return nil, err
	}
	for e := range a {
		a[e] = uint8(argmax(w[e], -1))
	}
	return a, nil
}

// cellEdges are the choice edges of one cell of n nodes: node k+2 from each of 0..k+1.
func cellEdges(n int) (to, from []int) {
	for k := 0; k < n; k++ {
		for j := 0; j < k+2; j++ {
			to, from = append(to, k+2), append(from, j)
		}
	}
	return to, from
}

// Supernet of the cell space: DARTS' search network, in which every node of a cell
// sums a mixed edge from each earlier node; the normal cells share the first half of
// the edges and the reduction cells the second.
// SearchDepth is 5 cells, as DARTS searches where it evaluates 8.
func (s *Cell) SearchDepth() int { return 5 }

func (s *Cell) Supernet(o SupernetOptions) (*Supernet, error) {
	opt := s.opt
	o.apply(&opt.Options, &opt.Channels, &opt.Layers)
	if _, err := NewCell(opt); err != nil {
		return nil, fmt.Errorf("supernet: %w", err)
	}
	s = &Cell{opt: opt}
	to, from := cellEdges(s.opt.Nodes)
	sn := &Supernet{Ops: CellOps}
	for _, kind := range []string{"normal", "reduce"} {
		for i := range to {
			sn.Edges = append(sn.Edges, fmt.Sprintf("%s/node%d<-%d", kind, to[i], from[i]))
		}
	}
	b := newBuilder(s.opt.shape())
	net, err := s.skeleton(b, func(name string, red bool, states []int, c int) []int {
		base := 0
		if red {
			base = len(to)
		}
		var terms []int
		for i := range to {
			if len(states) < to[i] { // the first edge into a new node: finish the last
				states = append(states, b.sum(fmt.Sprintf("%s/node%d/sum", name, to[i]-1), terms))
				terms = nil
			}
			src, stride := states[from[i]], edgeStride(red, from[i])
			en := fmt.Sprintf("%s/node%d/edge%d", name, to[i], from[i])
			terms = append(terms, sn.mixed(b, en, base+i, func(name, op string) int { return cellOp(b, name+"/"+op, op, src, c, stride) }))
		}
		states = append(states, b.sum(fmt.Sprintf("%s/node%d/sum", name, s.opt.Nodes+1), terms))
		return states[2:]
	})
	if err != nil {
		return nil, fmt.Errorf("cell supernet: %w", err)
	}
	sn.Net = net
	return sn, nil
}

func (s *Cell) PathWeights(a Arch) [][]float32 {
	x := s.arch(a)
	to, from := cellEdges(s.opt.Nodes)
	w := make([][]float32, 2*len(to))
	for i := range w {
		w[i] = make([]float32, len(CellOps))
	}
	for ci, cell := range [][]CellNode{x.Normal(), x.Reduce()} {
		for i := range to {
			n := cell[to[i]-2]
			for j := 0; j < 2; j++ {
				if int(n.In[j]) == from[i] {
					w[ci*len(to)+i][n.Op[j]]++
				}
			}
		}
	}
	return w
}

// Derive keeps, for each node, the two inputs whose strongest op other than none
// weighs most, each with that op (DARTS' rule).
func (s *Cell) Derive(w [][]float64) (Arch, error) {
	to, from := cellEdges(s.opt.Nodes)
	if err := checkWeights("cell", w, 2*len(to), len(CellOps)); err != nil {
		return nil, err
	}
	none := indexOf(CellOps, "none")
	var cells [2][]CellNode
	for ci := range cells {
		for k := 0; k < s.opt.Nodes; k++ {
			type choice struct {
				from, op int
				weight   float64
			}
			var cs []choice
			for i := range to {
				if to[i] == k+2 {
					row := w[ci*len(to)+i]
					op := argmax(row, none)
					cs = append(cs, choice{from[i], op, row[op]})
				}
			}
			sort.SliceStable(cs, func(a, b int) bool { return cs[a].weight > cs[b].weight })
			n := CellNode{In: [2]uint8{uint8(cs[0].from), uint8(cs[1].from)}, Op: [2]uint8{uint8(cs[0].op), uint8(cs[1].op)}}
			if n.In[0] > n.In[1] { // inputs in node order, as DARTS' genotypes list them
				n.In[0], n.In[1], n.Op[0], n.Op[1] = n.In[1], n.In[0], n.Op[1], n.Op[0]
			}
			cells[ci] = append(cells[ci], n)
		}
	}
	return NewCellArch(cells[0], cells[1]), nil
}
