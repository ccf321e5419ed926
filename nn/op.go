// Package nn compiles the network IR (spaces.Net) to gorgonia graphs, trains them on
// real data, and loads datasets. The layers gorgonia 0.9.18 lacks or gets wrong for
// NAS (grouped and depthwise convolution, average pooling that excludes padding,
// per-channel batch norm with running statistics) are gorgonia ops written here, each
// with a forward pass and gradient ops, checked against finite differences.
package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opBase holds what every op of this package answers the same way, and the op's
// output memory, reused from run to run: a graph runs each op once per run, and every
// op writes all of its output, so the last run's values are never read. (Allocating
// and zeroing a fresh output per run cost about a tenth of training time.)
type opBase struct {
	buf []float32
	// skips are the gates of the supernet branches the op belongs to: when all are
	// set, no path needs the op, and it does no work (see Supernet).
	skips []*bool
	// mem, set by Model.PlanMemory, lends the output memory when uses > 0: the
	// number of ops reading the output. held is the buffer lent, and left how many
	// of those ops have yet to run this time.
	mem        *memPlan
	uses, left int
	held       []float32
}

// gated says whether the op may skip its work: every branch it serves is off.
func (b *opBase) gated() bool {
	if len(b.skips) == 0 {
		return false
	}
	for _, s := range b.skips {
		if !*s {
			return false
		}
	}
	return true
}

// stale is a gated forward op's output: the last values computed, which nothing
// reads (a mix skips an input of weight zero). It is false before the first run.
func (b *opBase) stale(n int) ([]float32, bool) {
	if !b.gated() || len(b.buf) < n {
		return nil, false
	}
	return b.buf[:n], true
}

// zeros is a gated gradient op's output: the gradient of an unused branch is zero.
func (b *opBase) zeros(n int) ([]float32, bool) {
	if !b.gated() {
		return nil, false
	}
	z := b.out(n)
	clear(z)
	return z, true
}

func (b *opBase) setSkips(s []*bool) { b.skips = s }

// out returns n floats of the op's output memory, with stale contents.
func (b *opBase) out(n int) []float32 {
	if b.mem != nil && b.uses > 0 {
		return b.mem.take(b, n)
	}
	if cap(b.buf) < n {
		if b.buf = fromSpare(n); b.buf == nil {
			b.buf = make([]float32, n)
		}
	}
	return b.buf[:n]
}

// release tells the memory plan that the op has read its inputs (see memPlan); ops
// call it when done.
func (b *opBase) release(in []G.Value) {
	if b.mem != nil {
		b.mem.release(in)
	}
}

func (*opBase) ReturnsPtr() bool     { return false }
func (*opBase) CallsExtern() bool    { return false }
func (*opBase) OverwritesInput() int { return -1 }

// hashOf hashes an op's String, which names the op and all its parameters.
func hashOf(op fmt.Stringer) uint32 {
	h := fnv.New32a()
	h.Write([]byte(op.String()))
	return h.Sum32()
}

func writeHash(op fmt.Stringer, h hash.Hash) { h.Write([]byte(op.String())) }

// fnType is the type of an op of n 4-d (or dims-d) float inputs and one output of the
// same element type.
func fnType(n int, dims ...int) hm.Type {
	a := hm.TypeVariable('a')
	ts := make([]hm.Type, n+1)
	for i := range ts {
		d := 4
		if i < len(dims) {
			d = dims[i]
		}
		ts[i] = G.TensorType{Dims: d, Of: a}
	}
	return hm.NewFnType(ts...)
}

// f32 returns the float32 backing of a gorgonia value.
func f32(v G.Value) ([]float32, tensor.Shape, error) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return nil, nil, fmt.Errorf("nn: expected a tensor, got %T", v)
	}
	d, ok := t.Data().([]float32)
	if !ok {
		return nil, nil, fmt.Errorf("nn: expected float32 data, got %T", t.Data())
	}
	return d, t.Shape(), nil
}

func newDense(shape tensor.Shape, data []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data), tensor.WithEngine(engine{}))
}

// shapeOf reads the shape of a DimSizer (a tensor.Shape at graph-build time).
func shapeOf(d G.DimSizer) (tensor.Shape, error) {
	s, ok := d.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("nn: cannot infer shape from %T", d)
	}
	return s, nil
}

// sameShape is InferShape for an op whose output is shaped like its input i.
func sameShape(in []G.DimSizer, i int) (tensor.Shape, error) {
	s, err := shapeOf(in[i])
	if err != nil {
		return nil, err
	}
	return s.Clone(), nil
}

// inputGradOp is the gradient of a one-input op with respect to its input, computed
// from that input x and the output's gradient dy by grad, which must write all of dx.
// name must say which op and settings it belongs to: gorgonia merges nodes of equal
// name and inputs.
type inputGradOp struct {
	opBase
	name string
	dims int
	grad func(x, dy, dx []float32)
}

func (op *inputGradOp) Arity() int            { return 2 }
func (op *inputGradOp) Type() hm.Type         { return fnType(2, op.dims, op.dims, op.dims) }
func (op *inputGradOp) String() string        { return op.name }
func (op *inputGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *inputGradOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *inputGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(in, 0) }

func (op *inputGradOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	if z, ok := op.zeros(len(x)); ok {
		return newDense(s.Clone(), z), nil
	}
	dx := op.out(len(x))
	op.grad(x, dy, dx)
	return newDense(s.Clone(), dx), nil
}
