package nn

import (
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/nn/internal/vec"
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
	return sameShape(in, 0)
}

func (op *reluOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	if y, ok := op.stale(len(x)); ok {
		return newDense(s.Clone(), y), nil
	}
	y := op.out(len(x))
	forChunks(len(x), func(_, lo, hi int) { vec.Relu(y[lo:hi], x[lo:hi]) })
	return newDense(s.Clone(), y), nil
}

func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }

func (op *reluOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&inputGradOp{opBase: opBase{skips: op.skips}, name: "relu.grad", dims: op.dims, grad: func(x, dy, dx []float32) {
		forChunks(len(x), func(_, lo, hi int) { vec.ReluGrad(dx[lo:hi], x[lo:hi], dy[lo:hi]) })
	}}, in[0], grad)
	return G.Nodes{dx}, err
}

// relu applies reluOp.
func relu(x *G.Node) (*G.Node, error) { return G.ApplyOp(&reluOp{dims: x.Dims()}, x) }

// addOp is a + b, computed in parallel over the batch (gorgonia's Add runs on one
// core). Its gradient is the output's, for both operands.
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
	return sameShape(in, 0)
}

func (op *addOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	a, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	b, _, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	y := op.out(len(a))
	parallelAdd(y, a, b)
	return newDense(s.Clone(), y), nil
}

func (op *addOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *addOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}

// parallelAdd sets y = a + b across the cores.
func parallelAdd(y, a, b []float32) {
	forChunks(len(y), func(_, lo, hi int) { vec.Add(y[lo:hi], a[lo:hi], b[lo:hi]) })
}

// add applies addOp.
func add(a, b *G.Node) (*G.Node, error) { return G.ApplyOp(&addOp{dims: a.Dims()}, a, b) }
