package spaces

import "fmt"

// Tokenizer is a space whose archs are a fixed sequence of categorical choices, for
// controllers that emit an arch token by token (REINFORCE).
type Tokenizer interface {
	// TokenSizes is the number of choices at each step.
	TokenSizes() []int
	// Tokens is an arch's choices.
	Tokens(a Arch) []int
	// FromTokens is the arch of a sequence of choices.
	FromTokens(t []int) (Arch, error)
}

// checkTokens says whether t fits sizes.
func checkTokens(space string, t, sizes []int) error {
	if len(t) != len(sizes) {
		return fmt.Errorf("%s: %d tokens, want %d", space, len(t), len(sizes))
	}
	for i, v := range t {
		if v < 0 || v >= sizes[i] {
			return fmt.Errorf("%s: token %d is %d, want 0 to %d", space, i, v, sizes[i]-1)
		}
	}
	return nil
}

// TokenSizes: one op per edge.
func (s *NB201) TokenSizes() []int {
	sizes := make([]int, len(NB201Arch{}))
	for i := range sizes {
		sizes[i] = len(NB201Ops)
	}
	return sizes
}

func (s *NB201) Tokens(a Arch) []int {
	x := s.arch(a)
	t := make([]int, len(x))
	for i, op := range x {
		t[i] = int(op)
	}
	return t
}

func (s *NB201) FromTokens(t []int) (Arch, error) {
	if err := checkTokens("nb201", t, s.TokenSizes()); err != nil {
		return nil, err
	}
	var a NB201Arch
	for i, v := range t {
		a[i] = uint8(v)
	}
	return a, nil
}

// TokenSizes: for the normal then the reduction cell, for each node: its first
// input, that input's op, its second input, that input's op (as NASNet's controller).
func (s *Cell) TokenSizes() []int {
	var sizes []int
	for range 2 {
		for k := 0; k < s.opt.Nodes; k++ {
			sizes = append(sizes, k+2, len(CellOps), k+2, len(CellOps))
		}
	}
	return sizes
}

func (s *Cell) Tokens(a Arch) []int {
	x := s.arch(a)
	var t []int
	for _, cell := range [][]CellNode{x.Normal(), x.Reduce()} {
		for _, n := range cell {
			t = append(t, int(n.In[0]), int(n.Op[0]), int(n.In[1]), int(n.Op[1]))
		}
	}
	return t
}

func (s *Cell) FromTokens(t []int) (Arch, error) {
	if err := checkTokens("cell", t, s.TokenSizes()); err != nil {
		return nil, err
	}
	cells := [2][]CellNode{}
	for c := range cells {
		for k := 0; k < s.opt.Nodes; k++ {
			v := t[(c*s.opt.Nodes+k)*4:]
			cells[c] = append(cells[c], CellNode{In: [2]uint8{uint8(v[0]), uint8(v[2])}, Op: [2]uint8{uint8(v[1]), uint8(v[3])}})
		}
	}
	return NewCellArch(cells[0], cells[1]), nil
}
