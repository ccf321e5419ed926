package nn

import (
	"errors"
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// chanConcatOp joins NCHW tensors along their channels (a DARTS cell's output, a
// factorized reduce) by copying each sample's blocks: gorgonia's Concat and its
// gradient's slices walk element by element with an iterator, a quarter of a DARTS
// network's training step. Its gradient is the output gradient's channel ranges
// (chanSliceOp), one an input.
type chanConcatOp struct {
	opBase
	chans []int // each input's channels
}

func (op *chanConcatOp) Arity() int            { return len(op.chans) }
func (op *chanConcatOp) Type() hm.Type         { return fnType(len(op.chans)) }
func (op *chanConcatOp) String() string        { return fmt.Sprintf("concat%v", op.chans) }
func (op *chanConcatOp) Hashcode() uint32      { return hashOf(op) }
func (op *chanConcatOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *chanConcatOp) total() int {
	c := 0
	for _, n := range op.chans {
		c += n
	}
	return c
}

func (op *chanConcatOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := sameShape(in, 0)
	if err != nil {
		return nil, err
	}
	s[1] = op.total()
	return s, nil
}

func (op *chanConcatOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	xs := make([][]float32, len(in))
	var s tensor.Shape
	for i, v := range in {
		x, si, err := f32(v)
		if err != nil {
			return nil, err
		}
		xs[i], s = x, si
	}
	c, hw := op.total(), s[2]*s[3]
	y := op.out(s[0] * c * hw)
	forChunks(s[0], func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			at := n * c * hw
			for i, x := range xs {
				m := op.chans[i] * hw
				copy(y[at:at+m], x[n*m:(n+1)*m])
				at += m
			}
		}
	})
	out := s.Clone()
	out[1] = c
	return newDense(out, y), nil
}

func (op *chanConcatOp) DiffWRT(n int) []bool {
	d := make([]bool, n)
	for i := range d {
		d[i] = true
	}
	return d
}

func (op *chanConcatOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, len(in))
	lo := 0
	for i, n := range op.chans {
		var err error
		if out[i], err = G.ApplyOp(&chanSliceOp{lo: lo, hi: lo + n, of: op.total()}, grad); err != nil {
			return nil, err
		}
		lo += n
	}
	return out, nil
}

// chanSliceOp is channels [lo, hi) of an NCHW tensor of `of` channels.
type chanSliceOp struct {
	opBase
	lo, hi, of int
}

func (op *chanSliceOp) Arity() int    { return 1 }
func (op *chanSliceOp) Type() hm.Type { return fnType(1) }
func (op *chanSliceOp) String() string {
	return fmt.Sprintf("channels[%d:%d of %d]", op.lo, op.hi, op.of)
}
func (op *chanSliceOp) Hashcode() uint32      { return hashOf(op) }
func (op *chanSliceOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *chanSliceOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := sameShape(in, 0)
	if err != nil {
		return nil, err
	}
	s[1] = op.hi - op.lo
	return s, nil
}

func (op *chanSliceOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	hw, c := s[2]*s[3], op.hi-op.lo
	y := op.out(s[0] * c * hw)
	forChunks(s[0], func(_, lo, hi int) {
		for n := lo; n < hi; n++ {
			copy(y[n*c*hw:(n+1)*c*hw], x[(n*op.of+op.lo)*hw:(n*op.of+op.hi)*hw])
		}
	})
	out := s.Clone()
	out[1] = c
	return newDense(out, y), nil
}

func (op *chanSliceOp) DiffWRT(int) []bool { return []bool{false} }

func (op *chanSliceOp) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return nil, errors.New("channel slice: no second derivative")
}

// concatChannels joins NCHW nodes along their channels.
func concatChannels(ins ...*G.Node) (*G.Node, error) {
	chans := make([]int, len(ins))
	for i, x := range ins {
		chans[i] = x.Shape()[1]
	}
	return G.ApplyOp(&chanConcatOp{chans: chans}, ins...)
}
