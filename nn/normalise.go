package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// normaliseOp divides its input by the input's largest magnitude, a constant of the
// run that the gradient treats as fixed: y = x/s, dx = dy/s. Placed where every path
// of a network passes (a cut), it scales every path's contribution to the output by
// the same 1/s, so scores built from products along paths (synflow) keep their ratios
// while staying inside float32's range; Scale recovers the factor.
type normaliseOp struct {
	opBase
	dims int
	id   int
	s    float64 // of the last run
}

func (op *normaliseOp) Arity() int            { return 1 }
func (op *normaliseOp) Type() hm.Type         { return fnType(1, op.dims, op.dims) }
func (op *normaliseOp) String() string        { return fmt.Sprintf("normalise%d", op.id) }
func (op *normaliseOp) Hashcode() uint32      { return hashOf(op) }
func (op *normaliseOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *normaliseOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return sameShape(in, 0)
}

func (op *normaliseOp) Do(in ...G.Value) (G.Value, error) {
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	if m == 0 || math.IsInf(float64(m), 0) || math.IsNaN(float64(m)) {
		m = 1
	}
	op.s = float64(m)
	y := op.out(len(x))
	for i, v := range x {
		y[i] = v / m
	}
	return newDense(s.Clone(), y), nil
}

func (op *normaliseOp) DiffWRT(int) []bool { return []bool{true} }

func (op *normaliseOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&inputGradOp{name: fmt.Sprintf("normalise%d.grad", op.id), dims: op.dims, grad: func(_, dy, dx []float32) {
		s := float32(op.s)
		for i, v := range dy {
			dx[i] = v / s
		}
	}}, in[0], grad)
	return G.Nodes{dx}, err
}

// LogScale is the sum of the logs of the factors the normalising layers divided by in
// the last run: the log of what the network's output was divided by.
func (m *Model) LogScale() float64 {
	var sum float64
	for _, op := range m.norms {
		sum += math.Log(op.s)
	}
	return sum
}
