package spaces

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// CellOps are the operations of the cell space (the seed's list).
var CellOps = []string{
	"identity", "conv_3x3", "conv_5x5", "sep_conv_3x3", "sep_conv_5x5",
	"max_pool_3x3", "avg_pool_3x3", "dilated_conv_3x3", "skip_connect", "none",
}

// CellNode is one intermediate node: two inputs (0 and 1 are the cell's inputs, k+2 is
// intermediate node k), each through one op (an index into CellOps).
type CellNode struct {
	In [2]uint8
	Op [2]uint8
}

// CellArch is a NASNet/DARTS genotype: a normal cell and a reduction cell.
type CellArch struct {
	// Each cell's nodes packed four bytes a node (see encodeCell): a string keeps the
	// Arch immutable and comparable while the node count stays a space option.
	normal, reduce string
}

// Normal and Reduce decode the two cells.
func (a CellArch) Normal() []CellNode { return decodeCell(a.normal) }
func (a CellArch) Reduce() []CellNode { return decodeCell(a.reduce) }

func (a CellArch) String() string {
	return "normal=" + cellString(a.Normal()) + ";reduce=" + cellString(a.Reduce())
}

// NewCellArch builds an arch from its two cells (no validation; see Cell.Validate).
func NewCellArch(normal, reduce []CellNode) CellArch {
	return CellArch{normal: encodeCell(normal), reduce: encodeCell(reduce)}
}

// The cells are kept as compact byte strings so that CellArch is a comparable value.
func encodeCell(nodes []CellNode) string {
	b := make([]byte, 0, 4*len(nodes))
	for _, n := range nodes {
		b = append(b, n.In[0], n.Op[0], n.In[1], n.Op[1])
	}
	return string(b)
}

func decodeCell(s string) []CellNode {
	nodes := make([]CellNode, len(s)/4)
	for i := range nodes {
		nodes[i] = CellNode{In: [2]uint8{s[4*i], s[4*i+2]}, Op: [2]uint8{s[4*i+1], s[4*i+3]}}
	}
	return nodes
}

func cellString(nodes []CellNode) string {
	var sb strings.Builder
	ops := make([][]string, len(nodes))
	ins := make([][]int, len(nodes))
	for i, n := range nodes {
		for j := 0; j < 2; j++ {
			op := "?"
			if int(n.Op[j]) < len(CellOps) {
				op = CellOps[n.Op[j]]
			}
			ops[i] = append(ops[i], op)
			ins[i] = append(ins[i], int(n.In[j]))
		}
	}
	writeCellString(&sb, ops, ins)
	return sb.String()
}

// CellOptions configure the cell space and its macro skeleton.
type CellOptions struct {
	Options  `yaml:",inline"`
	Nodes    int `yaml:"nodes"`    // intermediate nodes per cell (4)
	Layers   int `yaml:"layers"`   // cells in the network (8); reductions at 1/3 and 2/3
	Channels int `yaml:"channels"` // channels of the first cells (16)
}

// DefaultCell is the seed's setting: 4 nodes, 8 cells, 16 channels on CIFAR-10.
var DefaultCell = CellOptions{Options: CIFAR, Nodes: 4, Layers: 8, Channels: 16}

func init() {
	Define("cell", "DARTS/NASNet cells: a normal and a reduction cell of nodes that sum two ops each", DefaultCell,
		func(o CellOptions) (Space, error) { return NewCell(o) })
}

// Cell is the NASNet/DARTS-style cell space: a normal and a reduction cell of Nodes
// intermediate nodes, each node summing two inputs through one op each, the cell's
// output the concatenation of its intermediate nodes.
type Cell struct{ opt CellOptions }

// NewCell checks the options and returns the space.
func NewCell(opt CellOptions) (*Cell, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("cell: %w", err)
	}
	if err := checkRange("cell", "nodes", opt.Nodes, 1, 16); err != nil {
		return nil, err
	}
	// At least 3 layers: two of them are reductions.
	if err := checkRange("cell", "layers", opt.Layers, 3, 64); err != nil {
		return nil, err
	}
	if err := checkRange("cell", "channels", opt.Channels, 1, maxChannels); err != nil {
		return nil, err
	}
	return &Cell{opt: opt}, nil
}

func (s *Cell) Name() string { return "cell" }

func (s *Cell) arch(a Arch) CellArch {
	x, ok := a.(CellArch)
	if !ok {
		panic(wrongArch("cell", a))
	}
	return x
}

func (s *Cell) sampleCell(rng *rand.Rand) []CellNode {
	nodes := make([]CellNode, s.opt.Nodes)
	for k := range nodes {
		for j := 0; j < 2; j++ {
			nodes[k].In[j] = uint8(rng.IntN(k + 2))
			nodes[k].Op[j] = uint8(rng.IntN(len(CellOps)))
		}
	}
	return nodes
}

func (s *Cell) Sample(rng *rand.Rand) Arch {
	n := s.sampleCell(rng)
	return NewCellArch(n, s.sampleCell(rng))
}

// Mutate changes one op or one input of one node of either cell.
func (s *Cell) Mutate(a Arch, rng *rand.Rand) Arch {
	x := s.arch(a)
	cells := [2][]CellNode{x.Normal(), x.Reduce()}
	c := cells[rng.IntN(2)]
	k, j := rng.IntN(len(c)), rng.IntN(2)
	if rng.IntN(2) == 0 {
		c[k].Op[j] = uint8(pickOther(rng, len(CellOps), int(c[k].Op[j])))
	} else {
		c[k].In[j] = uint8(pickOther(rng, k+2, int(c[k].In[j])))
	}
	return NewCellArch(cells[0], cells[1])
}

func (s *Cell) Neighbours(a Arch) []Arch {
	x := s.arch(a)
	var out []Arch
	for ci := 0; ci < 2; ci++ {
		for k := 0; k < s.opt.Nodes; k++ {
			for j := 0; j < 2; j++ {
				for op := range CellOps {
					cells := [2][]CellNode{x.Normal(), x.Reduce()}
					if cells[ci][k].Op[j] == uint8(op) {
						continue
					}
					cells[ci][k].Op[j] = uint8(op)
					out = append(out, NewCellArch(cells[0], cells[1]))
				}
				for in := 0; in < k+2; in++ {
					cells := [2][]CellNode{x.Normal(), x.Reduce()}
					if cells[ci][k].In[j] == uint8(in) {
						continue
					}
					cells[ci][k].In[j] = uint8(in)
					out = append(out, NewCellArch(cells[0], cells[1]))
				}
			}
		}
	}
	return out
}

// Encode gives, for each cell, node and input, the one-hot op and the one-hot input:
// 2 x Nodes x 2 x (len(CellOps) + Nodes + 1) values.
func (s *Cell) Encode(a Arch) []float64 {
	x := s.arch(a)
	nIn := s.opt.Nodes + 1
	per := len(CellOps) + nIn
	v := make([]float64, 2*s.opt.Nodes*2*per)
	i := 0
	for _, c := range [][]CellNode{x.Normal(), x.Reduce()} {
		for _, n := range c {
			for j := 0; j < 2; j++ {
				v[i+int(n.Op[j])] = 1
				v[i+len(CellOps)+int(n.In[j])] = 1
				i += per
			}
		}
	}
	return v
}

func (s *Cell) Parse(b []byte) (Arch, error) {
	str := string(b)
	perr := func(pos int, tok, msg string) error {
		return &ParseError{Space: "cell", Pos: pos, Token: tok, Msg: msg}
	}
	var cells [2][]CellNode
	pos := 0
	parts := strings.Split(str, ";")
	if len(parts) != 2 {
		return nil, perr(0, "", fmt.Sprintf("expected two cells separated by ';' (normal=|...|;reduce=|...|), found %d part(s)", len(parts)))
	}
	for ci, want := range []string{"normal", "reduce"} {
		part := parts[ci]
		key, body, ok := strings.Cut(part, "=")
		if !ok || key != want {
			return nil, perr(pos, key, fmt.Sprintf("expected %q, as in normal=|...|;reduce=|...|", want+"="))
		}
		nodes, err := parseCellString("cell", body, pos+len(key)+1)
		if err != nil {
			return nil, err
		}
		if len(nodes) != s.opt.Nodes {
			return nil, perr(pos, key, fmt.Sprintf("cell has %d nodes; this space has %d", len(nodes), s.opt.Nodes))
		}
		for k, edges := range nodes {
			if len(edges) != 2 {
				return nil, perr(edges[0].opPos, edges[0].op, fmt.Sprintf("node %d has %d inputs; each node takes exactly 2", k+2, len(edges)))
			}
			var n CellNode
			for j, e := range edges {
				op := indexOf(CellOps, e.op)
				if op < 0 {
					return nil, perr(e.opPos, e.op, "unknown op; cell ops are "+strings.Join(CellOps, ", "))
				}
				if e.input > k+1 {
					return nil, perr(e.inPos, e.inText, fmt.Sprintf("node %d can take inputs 0..%d only (the cell inputs and earlier nodes)", k+2, k+1))
				}
				n.In[j], n.Op[j] = uint8(e.input), uint8(op)
			}
			cells[ci] = append(cells[ci], n)
		}
		pos += len(part) + 1
	}
	return NewCellArch(cells[0], cells[1]), nil
}

func (s *Cell) Validate(a Arch) error {
	x, ok := a.(CellArch)
	if !ok {
		return fmt.Errorf("cell: not a cell arch: %T", a)
	}
	for ci, c := range [][]CellNode{x.Normal(), x.Reduce()} {
		name := [2]string{"normal", "reduce"}[ci]
		if len(c) != s.opt.Nodes {
			return fmt.Errorf("cell: %s cell has %d nodes; this space has %d", name, len(c), s.opt.Nodes)
		}
		for k, n := range c {
			for j := 0; j < 2; j++ {
				if int(n.Op[j]) >= len(CellOps) {
					return fmt.Errorf("cell: %s node %d input %d: op index %d out of range", name, k+2, j, n.Op[j])
				}
				if int(n.In[j]) > k+1 {
					return fmt.Errorf("cell: %s node %d input %d: from node %d, which is not earlier", name, k+2, j, n.In[j])
				}
			}
		}
	}
	return nil
}

// reductionAt says whether cell i of layers is a reduction cell: at 1/3 and 2/3 of the depth.
func reductionAt(i, layers int) bool { return i == layers/3 || i == 2*layers/3 }

// Network builds the DARTS skeleton: a 3x3 stem conv to 3*Channels and BN, then Layers
// cells with reduction cells (stride 2, doubled channels) at 1/3 and 2/3 of the depth,
// each cell preprocessing its two inputs (the two previous cells' outputs) to its
// channel count, then global average pool and a linear classifier.
func (s *Cell) Network(a Arch) (*Net, error) {
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	x := s.arch(a)
	cells := [2][]CellNode{x.Normal(), x.Reduce()}
	b := newBuilder(s.opt.shape())
	return s.skeleton(b, func(name string, red bool, states []int, c int) []int {
		nodes := cells[0]
		if red {
			nodes = cells[1]
		}
		for k, n := range nodes {
			var terms [2]int
			for j := 0; j < 2; j++ {
				en := fmt.Sprintf("%s/node%d/in%d", name, k+2, j)
				terms[j] = cellOp(b, en, CellOps[n.Op[j]], states[n.In[j]], c, edgeStride(red, int(n.In[j])))
			}
			states = append(states, b.sum(fmt.Sprintf("%s/node%d/sum", name, k+2), terms[:]))
		}
		return states[2:]
	})
}

// edgeStride is the stride of an op reading state in: 2 from a reduction cell's inputs.
func edgeStride(red bool, in int) int {
	if red && in < 2 {
		return 2
	}
	return 1
}

// skeleton builds the DARTS macro network around body, which adds the nodes of one
// cell (a reduction cell when red) on its two preprocessed inputs states with c
// channels, and returns the nodes the cell's output concatenates.
func (s *Cell) skeleton(b *builder, body func(name string, red bool, states []int, c int) []int) (*Net, error) {
	c := s.opt.Channels
	stem := b.conv("stem/conv", 0, 3*c, 3, 1, 1, 1)
	stem = b.bn("stem/bn", stem)
	s0, s1 := stem, stem
	prevReduction := false
	for i := 0; i < s.opt.Layers; i++ {
		red := reductionAt(i, s.opt.Layers)
		if red {
			c *= 2
		}
		name := fmt.Sprintf("cell%d", i)
		// The first input is two cells back: after a reduction it is twice as large.
		var p0 int
		if prevReduction {
			p0 = b.add(Layer{Kind: FactReduce, Name: name + "/pre0/factreduce", Inputs: []int{s0}, OutC: c})
			p0 = b.bn(name+"/pre0/bn", p0)
		} else {
			p0 = b.reluConvBN(name+"/pre0", s0, c, 1, 1, 1)
		}
		p1 := b.reluConvBN(name+"/pre1", s1, c, 1, 1, 1)
		out := b.add(Layer{Kind: Concat, Name: name + "/concat", Inputs: body(name, red, []int{p0, p1}, c)})
		s0, s1 = s1, out
		prevReduction = red
	}
	return b.finish(s.opt.head(b, s1))
}

// cellOp adds one op of the cell space on input x with c channels in and out.
func cellOp(b *builder, name, op string, x, c, stride int) int {
	switch op {
	case "none":
		return b.add(Layer{Kind: Zero, Name: name + "/zero", Inputs: []int{x}, Stride: stride})
	case "identity":
		// The seed's identity: a 1x1 strided conv where the shape changes.
		if stride == 1 {
			return b.add(Layer{Kind: Identity, Name: name + "/identity", Inputs: []int{x}})
		}
		x = b.conv(name+"/conv", x, c, 1, stride, 1, 1)
		return b.bn(name+"/bn", x)
	case "skip_connect":
		// DARTS' skip: a factorized reduction where the shape changes.
		if stride == 1 {
			return b.add(Layer{Kind: Identity, Name: name + "/skip", Inputs: []int{x}})
		}
		x = b.add(Layer{Kind: FactReduce, Name: name + "/factreduce", Inputs: []int{x}, OutC: c})
		return b.bn(name+"/bn", x)
	case "conv_3x3":
		return b.reluConvBN(name, x, c, 3, stride, 1)
	case "conv_5x5":
		return b.reluConvBN(name, x, c, 5, stride, 1)
	case "sep_conv_3x3", "sep_conv_5x5":
		k := 3
		if op == "sep_conv_5x5" {
			k = 5
		}
		// DARTS' separable conv: the depthwise-pointwise unit applied twice.
		x = sepUnit(b, name+"/sep1", x, c, k, stride, 1)
		return sepUnit(b, name+"/sep2", x, c, k, 1, 1)
	case "dilated_conv_3x3":
		return sepUnit(b, name+"/dil", x, c, 3, stride, 2)
	case "max_pool_3x3":
		return b.pool(name+"/maxpool", MaxPool, x, 3, stride)
	case "avg_pool_3x3":
		return b.pool(name+"/avgpool", AvgPool, x, 3, stride)
	}
	b.err = fmt.Errorf("%s: unknown op %q", name, op)
	return 0
}

// sepUnit is ReLU, a depthwise kxk conv, a pointwise 1x1 conv and BN.
func sepUnit(b *builder, name string, x, c, k, stride, dil int) int {
	cin := b.shape(x).C
	x = b.relu(name+"/relu", x)
	x = b.conv(name+"/dw", x, cin, k, stride, dil, cin)
	x = b.conv(name+"/pw", x, c, 1, 1, 1, 1)
	return b.bn(name+"/bn", x)
}
