package nn

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// mixOp is a supernet edge: the sum of its k candidate outputs x_i (all of one shape)
// scaled by the mixing weights w (a vector of k). Candidates weighted 0 are skipped,
// so a one-hot w costs one candidate's sum. Its gradients: w_i*dy for x_i, and
// <x_i, dy> for w_i.
type mixOp struct {
	opBase
	k, dims int
	id      int // the layer's id: gorgonia merges ops of equal String and inputs
	// noGradW, when set and true, makes the weights' gradient zero instead of
	// computing it (a pass over every candidate's output, gated ones included): the
	// supernet's weight training sets it, DARTS' architecture steps clear it.
	noGradW *bool
}

func (op *mixOp) Arity() int { return op.k + 1 }
func (op *mixOp) Type() hm.Type {
	dims := make([]int, op.k+2)
	for i := range dims {
		dims[i] = op.dims
	}
	dims[op.k] = 1
	return fnType(op.k+1, dims...)
}
func (op *mixOp) String() string        { return fmt.Sprintf("mix%d(%d)", op.id, op.k) }
func (op *mixOp) Hashcode() uint32      { return hashOf(op) }
func (op *mixOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *mixOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(in, 0) }

// inputs reads the k candidates, the weights and (for gradient ops) one more tensor.
func mixInputs(in []G.Value, k int) (xs [][]float32, w []float32, s tensor.Shape, err error) {
	xs = make([][]float32, k)
	for i := range xs {
		if xs[i], s, err = f32(in[i]); err != nil {
			return nil, nil, nil, err
		}
	}
	if w, _, err = f32(in[k]); err != nil {
		return nil, nil, nil, err
	}
	if len(w) != k {
		return nil, nil, nil, fmt.Errorf("nn: mix of %d candidates given %d weights", k, len(w))
	}
	return xs, w, s, nil
}

func (op *mixOp) Do(in ...G.Value) (G.Value, error) {
	xs, w, s, err := mixInputs(in, op.k)
	if err != nil {
		return nil, err
	}
	y := op.out(len(xs[0]))
	forChunks(len(y), func(_, lo, hi int) {
		clear(y[lo:hi])
		for i, x := range xs {
			if w[i] == 0 {
				continue
			}
			wi := w[i]
			for j := lo; j < hi; j++ {
				y[j] += wi * x[j]
			}
		}
	})
	return newDense(s.Clone(), y), nil
}

func (op *mixOp) DiffWRT(int) []bool {
	d := make([]bool, op.k+1)
	for i := range d {
		d[i] = true
	}
	return d
}

func (op *mixOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, op.k+1)
	w := in[op.k]
	for i := 0; i < op.k; i++ {
		var err error
		if out[i], err = G.ApplyOp(&mixGradXOp{mix: op, i: i}, w, grad); err != nil {
			return nil, err
		}
	}
	args := append(append(G.Nodes{}, in[:op.k]...), grad)
	var err error
	out[op.k], err = G.ApplyOp(&mixGradWOp{mix: op}, args...)
	return out, err
}

// mixGradXOp is w_i * dy, the gradient of a mix with respect to candidate i.
type mixGradXOp struct {
	opBase
	mix *mixOp
	i   int
}

func (op *mixGradXOp) Arity() int            { return 2 }
func (op *mixGradXOp) Type() hm.Type         { return fnType(2, 1, op.mix.dims, op.mix.dims) }
func (op *mixGradXOp) String() string        { return fmt.Sprintf("%s.gradx%d", op.mix, op.i) }
func (op *mixGradXOp) Hashcode() uint32      { return hashOf(op) }
func (op *mixGradXOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *mixGradXOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(in, 1) }

func (op *mixGradXOp) Do(in ...G.Value) (G.Value, error) {
	w, _, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	dy, s, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	dx := op.out(len(dy))
	wi := w[op.i]
	forChunks(len(dx), func(_, lo, hi int) {
		if wi == 0 {
			clear(dx[lo:hi])
			return
		}
		for j := lo; j < hi; j++ {
			dx[j] = wi * dy[j]
		}
	})
	return newDense(s.Clone(), dx), nil
}

// mixGradWOp is <x_i, dy> for each candidate: the gradient with respect to the weights.
type mixGradWOp struct {
	opBase
	mix *mixOp
}

func (op *mixGradWOp) Arity() int { return op.mix.k + 1 }
func (op *mixGradWOp) Type() hm.Type {
	dims := make([]int, op.mix.k+2)
	for i := range dims {
		dims[i] = op.mix.dims
	}
	dims[op.mix.k+1] = 1
	return fnType(op.mix.k+1, dims...)
}
func (op *mixGradWOp) String() string        { return fmt.Sprintf("%s.gradw", op.mix) }
func (op *mixGradWOp) Hashcode() uint32      { return hashOf(op) }
func (op *mixGradWOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *mixGradWOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.mix.k}, nil
}

func (op *mixGradWOp) Do(in ...G.Value) (G.Value, error) {
	k := op.mix.k
	dy, _, err := f32(in[k])
	if err != nil {
		return nil, err
	}
	dw := op.out(k)
	if op.mix.noGradW != nil && *op.mix.noGradW {
		clear(dw)
		return newDense(tensor.Shape{k}, dw), nil
	}
	for i := 0; i < k; i++ {
		x, _, err := f32(in[i])
		if err != nil {
			return nil, err
		}
		var s float64
		for j, v := range x {
			s += float64(v) * float64(dy[j])
		}
		dw[i] = float32(s)
	}
	return newDense(tensor.Shape{k}, dw), nil
}
