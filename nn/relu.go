package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reluOp is max(x, 0) of any shape. gorgonia's Rectify (x times a comparison mask)
// gives wrong gradients inside compiled networks; this op's gradient is exact.
type reluOp struct {
	opBase
	dims int
}

func (op *reluOp) Arity() int            { return 1 }
func (op *reluOp) Type() hm.Type         { return fnType(1, op.dims, op.dims) }
func (op *reluOp) String() string        { return "relu" }
func (op *reluOp) Hashcode() uint32      { return hashOf(op) }
func (op *reluOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *reluOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *reluOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(x))
	for i, v := range x {
		if v > 0 {
			y[i] = v
		}
	}
	return newDense(s.Clone(), y), nil
}

func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }

func (op *reluOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&reluGradOp{dims: op.dims}, in[0], grad)
	return G.Nodes{dx}, err
}

// reluGradOp passes dy where x > 0, from (x, dy).
type reluGradOp struct {
	opBase
	dims int
}

func (op *reluGradOp) Arity() int            { return 2 }
func (op *reluGradOp) Type() hm.Type         { return fnType(2, op.dims, op.dims, op.dims) }
func (op *reluGradOp) String() string        { return "relu.grad" }
func (op *reluGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *reluGradOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *reluGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *reluGradOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	dx := make([]float32, len(x))
	for i, v := range x {
		if v > 0 {
			dx[i] = dy[i]
		}
	}
	return newDense(s.Clone(), dx), nil
}

// relu applies reluOp.
func relu(x *G.Node) (*G.Node, error) { return G.ApplyOp(&reluOp{dims: x.Dims()}, x) }

// addOp is a + b. gorgonia's Add hands one gradient node to both operands; when a
// node feeds several consumers, gorgonia sums their gradients in place and so
// corrupts the shared one (measured: 2-10% errors upstream of every fan-out). Here
// each operand gets its own copy.
type addOp struct {
	opBase
	dims int
}

func (op *addOp) Arity() int            { return 2 }
func (op *addOp) Type() hm.Type         { return fnType(2, op.dims, op.dims, op.dims) }
func (op *addOp) String() string        { return "add" }
func (op *addOp) Hashcode() uint32      { return hashOf(op) }
func (op *addOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *addOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *addOp) Do(in ...G.Value) (G.Value, error) {
	a, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	b, _, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	y := make([]float32, len(a))
	for i := range y {
		y[i] = a[i] + b[i]
	}
	return newDense(s.Clone(), y), nil
}

func (op *addOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *addOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, 2)
	for i := range out {
		var err error
		if out[i], err = G.ApplyOp(&copyOp{dims: op.dims, operand: i}, grad); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// copyOp is a fresh copy of its input; operand keeps the copies for the two operands
// of an add distinct (gorgonia merges nodes of equal op and inputs).
type copyOp struct {
	opBase
	dims, operand int
}

func (op *copyOp) Arity() int            { return 1 }
func (op *copyOp) Type() hm.Type         { return fnType(1, op.dims, op.dims) }
func (op *copyOp) String() string        { return fmt.Sprintf("copy%d", op.operand) }
func (op *copyOp) Hashcode() uint32      { return hashOf(op) }
func (op *copyOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *copyOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

func (op *copyOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	return newDense(s.Clone(), append([]float32(nil), x...)), nil
}

// add applies addOp.
func add(a, b *G.Node) (*G.Node, error) { return G.ApplyOp(&addOp{dims: a.Dims()}, a, b) }
