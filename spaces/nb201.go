package spaces

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// NB201Ops are the operations of the NAS-Bench-201 cell, in the benchmark's order.
var NB201Ops = []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}

// nb201Edges lists the cell's six edges as (to, from) node pairs in string order:
// node 1 from 0; node 2 from 0, 1; node 3 from 0, 1, 2.
var nb201Edges = [6][2]int{{1, 0}, {2, 0}, {2, 1}, {3, 0}, {3, 1}, {3, 2}}

// NB201Arch is a NAS-Bench-201 cell: the op index (into NB201Ops) of each edge.
type NB201Arch [6]uint8

func (a NB201Arch) String() string {
	var sb strings.Builder
	ops := [][]string{{}, {}, {}}
	ins := [][]int{{}, {}, {}}
	for i, e := range nb201Edges {
		ops[e[0]-1] = append(ops[e[0]-1], NB201Ops[a[i]])
		ins[e[0]-1] = append(ins[e[0]-1], e[1])
	}
	writeCellString(&sb, ops, ins)
	return sb.String()
}

// NB201Options configure the macro skeleton. The defaults are the benchmark's.
type NB201Options struct {
	Options  `yaml:",inline"`
	Channels int `yaml:"channels"` // channels of the first stage (16)
	Cells    int `yaml:"cells"`    // cells per stage (5)
}

// NB201 is the NAS-Bench-201 space: one cell of 4 nodes and 6 edges, each edge one of
// five ops, stacked in the benchmark's ResNet-like skeleton.
type NB201 struct{ opt NB201Options }

// DefaultNB201 are the benchmark's settings on CIFAR-10.
var DefaultNB201 = NB201Options{Options: CIFAR, Channels: 16, Cells: 5}

func init() {
	Define("nb201", "NAS-Bench-201's cell: 6 edges of 5 ops in a ResNet-like skeleton", DefaultNB201,
		func(o NB201Options) (Space, error) { return NewNB201(o) })
}

// NewNB201 checks the options and returns the space.
func NewNB201(opt NB201Options) (*NB201, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("nb201: %w", err)
	}
	if err := checkRange("nb201", "channels", opt.Channels, 1, maxChannels); err != nil {
		return nil, err
	}
	if err := checkRange("nb201", "cells", opt.Cells, 1, 64); err != nil {
		return nil, err
	}
	return &NB201{opt: opt}, nil
}

func (s *NB201) Name() string { return "nb201" }

// Function is the cell as it computes (Effective): the 15,625 cells are 11,155
// functions.
func (s *NB201) Function(a Arch) string { return s.arch(a).Effective().String() }

// Settings are the options the space was made with.
func (s *NB201) Settings() NB201Options { return s.opt }

// Index numbers the cell among the space's 5^6: sum of op(edge i) * 5^i.
func (a NB201Arch) Index() int {
	n := 0
	for i := len(a) - 1; i >= 0; i-- {
		n = n*len(NB201Ops) + int(a[i])
	}
	return n
}

// NB201Cell is the cell Index numbers i.
func NB201Cell(i int) NB201Arch {
	var a NB201Arch
	for e := range a {
		a[e] = uint8(i % len(NB201Ops))
		i /= len(NB201Ops)
	}
	return a
}

// NB201Cells is how many cells the space has.
const NB201Cells = 15625

func (s *NB201) arch(a Arch) NB201Arch {
	x, ok := a.(NB201Arch)
	if !ok {
		panic(wrongArch("nb201", a))
	}
	return x
}

func (s *NB201) Sample(rng *rand.Rand) Arch {
	var a NB201Arch
	for i := range a {
		a[i] = uint8(rng.IntN(len(NB201Ops)))
	}
	return a
}

func (s *NB201) Mutate(a Arch, rng *rand.Rand) Arch {
	x := s.arch(a)
	e := rng.IntN(len(x))
	x[e] = uint8(pickOther(rng, len(NB201Ops), int(x[e])))
	return x
}

func (s *NB201) Neighbours(a Arch) []Arch {
	x := s.arch(a)
	var out []Arch
	for e := range x {
		for op := range NB201Ops {
			if uint8(op) != x[e] {
				y := x
				y[e] = uint8(op)
				out = append(out, y)
			}
		}
	}
	return out
}

// Encode is the one-hot op of each edge: 6 x 5 values.
func (s *NB201) Encode(a Arch) []float64 {
	x := s.arch(a)
	v := make([]float64, len(x)*len(NB201Ops))
	for e, op := range x {
		v[e*len(NB201Ops)+int(op)] = 1
	}
	return v
}

func (s *NB201) Parse(b []byte) (Arch, error) {
	nodes, err := parseCellString("nb201", string(b), 0)
	if err != nil {
		return nil, err
	}
	perr := func(pos int, tok, msg string) error {
		return &ParseError{Space: "nb201", Pos: pos, Token: tok, Msg: msg}
	}
	if len(nodes) != 3 {
		return nil, perr(len(b), "", fmt.Sprintf("has %d nodes; the cell has 3 (|a~0|+|b~0|c~1|+|d~0|e~1|f~2|)", len(nodes)))
	}
	var a NB201Arch
	i := 0
	for n, edges := range nodes {
		if len(edges) != n+1 {
			pos := len(b)
			if len(edges) > n+1 {
				pos = edges[n+1].opPos
			}
			return nil, perr(pos, "", fmt.Sprintf("node %d has %d edges; it takes one from each of nodes 0..%d", n+1, len(edges), n))
		}
		for j, e := range edges {
			op := indexOf(NB201Ops, e.op)
			if op < 0 {
				return nil, perr(e.opPos, e.op, "unknown op; nb201 ops are "+strings.Join(NB201Ops, ", "))
			}
			if e.input != j {
				return nil, perr(e.inPos, e.inText, fmt.Sprintf("edge %d of node %d must come from node %d", j, n+1, j))
			}
			a[i] = uint8(op)
			i++
		}
	}
	return a, nil
}

func (s *NB201) Validate(a Arch) error {
	x, ok := a.(NB201Arch)
	if !ok {
		return fmt.Errorf("nb201: not an nb201 arch: %T", a)
	}
	for e, op := range x {
		if int(op) >= len(NB201Ops) {
			return fmt.Errorf("nb201: edge %d has op index %d; there are %d ops", e, op, len(NB201Ops))
		}
	}
	return nil
}

// Network builds the benchmark's skeleton: a 3x3 stem conv and BN, three stages of
// Cells cells at Channels, 2x and 4x channels joined by residual reduction blocks,
// then BN, ReLU, global average pool and a linear classifier.
func (s *NB201) Network(a Arch) (*Net, error) {
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	x := s.arch(a)
	b := newBuilder(s.opt.shape())
	return s.skeleton(b, func(name string, h, c int) int {
		return nb201Cell(b, name, h, func(en string, i, src int) int {
			return nb201Op(b, en, NB201Ops[x[i]], src, c)
		})
	})
}

// skeleton builds the benchmark's macro network around cell, which adds one cell
// named name on input h with c channels and returns its output.
func (s *NB201) skeleton(b *builder, cell func(name string, h, c int) int) (*Net, error) {
	c := s.opt.Channels
	h := b.conv("stem/conv", 0, c, 3, 1, 1, 1)
	h = b.bn("stem/bn", h)
	for stage := 0; stage < 3; stage++ {
		if stage > 0 {
			h = nb201Reduction(b, fmt.Sprintf("reduce%d", stage), h, 2*c)
			c *= 2
		}
		for i := 0; i < s.opt.Cells; i++ {
			h = cell(fmt.Sprintf("stage%d/cell%d", stage, i), h, c)
		}
	}
	h = b.bn("head/bn", h)
	h = b.relu("head/relu", h)
	return b.finish(s.opt.head(b, h))
}

// nb201Cell adds one cell: node j is the sum over i<j of edge(node i); node 3 is the
// output. edge adds edge i (an index into nb201Edges) on input src.
func nb201Cell(b *builder, name string, in int, edge func(name string, i, src int) int) int {
	nodes := []int{in}
	for to := 1; to <= 3; to++ {
		var terms []int
		for i, e := range nb201Edges {
			if e[0] != to {
				continue
			}
			terms = append(terms, edge(fmt.Sprintf("%s/node%d/edge%d", name, to, e[1]), i, nodes[e[1]]))
		}
		nodes = append(nodes, b.sum(fmt.Sprintf("%s/node%d/sum", name, to), terms))
	}
	return nodes[3]
}

// nb201Op adds one edge's op on input src with c channels.
func nb201Op(b *builder, name, op string, src, c int) int {
	switch op {
	case "none":
		return b.add(Layer{Kind: Zero, Name: name + "/zero", Inputs: []int{src}})
	case "skip_connect":
		return b.add(Layer{Kind: Identity, Name: name + "/skip", Inputs: []int{src}})
	case "nor_conv_1x1":
		return b.reluConvBN(name, src, c, 1, 1, 1)
	case "nor_conv_3x3":
		return b.reluConvBN(name, src, c, 3, 1, 1)
	case "avg_pool_3x3":
		return b.pool(name+"/avgpool", AvgPool, src, 3, 1)
	}
	b.err = fmt.Errorf("%s: unknown op %q", name, op)
	return 0
}

// nb201Reduction is the benchmark's ResNet basic block with stride 2: two ReLU-conv-BN
// 3x3 units, and a shortcut of a 2x2 average pool and a 1x1 conv.
func nb201Reduction(b *builder, name string, in, cout int) int {
	x := b.reluConvBN(name+"/a", in, cout, 3, 2, 1)
	x = b.reluConvBN(name+"/b", x, cout, 3, 1, 1)
	sc := b.add(Layer{Kind: AvgPool, Name: name + "/shortcut/avgpool", Inputs: []int{in}, Kernel: 2, Stride: 2})
	sc = b.conv(name+"/shortcut/conv", sc, cout, 1, 1, 1, 1)
	return b.sum(name+"/sum", []int{sc, x})
}
