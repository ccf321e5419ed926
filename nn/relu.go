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
	// fixed, the model's (see Model.FixActivations), makes the op record in mask
	// which units its next input has positive (bit i: x[i] > 0), and from then on
	// pass those units whatever its input.
	fixed    *bool
	mask     []uint64
	recorded bool
}

// replaying says whether the op passes recorded units rather than positive ones.
func (op *reluOp) replaying() bool { return op.fixed != nil && *op.fixed && op.recorded }

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
	switch {
	case op.replaying():
		op.masked(y, x)
		return newDense(s.Clone(), y), nil
	case op.fixed != nil && *op.fixed:
		op.record(x)
	}
	forChunks(len(x), func(_, lo, hi int) { vec.Relu(y[lo:hi], x[lo:hi]) })
	return newDense(s.Clone(), y), nil
}

// record keeps which of x's units are positive.
func (op *reluOp) record(x []float32) {
	words := (len(x) + 63) / 64
	if cap(op.mask) < words {
		op.mask = make([]uint64, words)
	}
	op.mask, op.recorded = op.mask[:words], true
	forChunks(words, func(_, lo, hi int) {
		for w := lo; w < hi; w++ {
			var bits uint64
			for i, v := range x[w*64 : min(w*64+64, len(x))] {
				if v > 0 {
					bits |= 1 << i
				}
			}
			op.mask[w] = bits
		}
	})
}

// masked sets out to in on the recorded units and to zero elsewhere: the forward
// pass and the gradient of a fixed ReLU alike.
func (op *reluOp) masked(out, in []float32) {
	forChunks(len(op.mask), func(_, lo, hi int) {
		for w := lo; w < hi; w++ {
			bits := op.mask[w]
			for i := range out[w*64 : min(w*64+64, len(out))] {
				if bits&(1<<i) != 0 {
					out[w*64+i] = in[w*64+i]
				} else {
					out[w*64+i] = 0
				}
			}
		}
	})
}

func (op *reluOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff reads the output rather than the input (y > 0 where x > 0), as PyTorch
// does: the input, a node's sum in a cell, is then free once the forward pass has
// read it, which took 0.1 GB off a probe of the NB201 skeleton at batch 64.
func (op *reluOp) SymDiff(_ G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&inputGradOp{opBase: opBase{skips: op.skips}, name: "relu.grad", dims: op.dims, grad: func(y, dy, dx []float32) {
		if op.replaying() {
			op.masked(dx, dy)
			return
		}
		forChunks(len(y), func(_, lo, hi int) { vec.ReluGrad(dx[lo:hi], y[lo:hi], dy[lo:hi]) })
	}}, out, grad)
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

// FixActivations makes every ReLU of m record which units the next run passes and
// pass the same units on the runs after, whatever their inputs, until
// FreeActivations. Around the recorded weights the network is then smooth, and
// finite differences of its gradient give the Hessian-vector product that
// automatic differentiation gives (a ReLU's second derivative being zero) instead
// of the jumps of units that cross zero between the two evaluations.
func (m *Model) FixActivations() { m.setFixed(true) }

// FreeActivations undoes FixActivations: ReLUs pass the positive units again.
func (m *Model) FreeActivations() { m.setFixed(false) }

func (m *Model) setFixed(on bool) {
	m.fixedReLUs = on
	for _, n := range m.graph.AllNodes() {
		if op, ok := n.Op().(*reluOp); ok {
			op.fixed, op.recorded = &m.fixedReLUs, false
		}
	}
}
