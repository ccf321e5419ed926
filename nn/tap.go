package nn

import (
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tap reads a conv or linear layer's output a together with the loss's gradient
// with respect to it, for scores of untrained networks (fisher): compiled with
// CompileOptions.TapLayers, each such layer's output passes through one. The tap
// sums a * dL/da over positions while the gradient passes back through it, so
// neither the output nor its gradient has to be kept after the run.
type Tap struct{ op *tapOp }

// Dots are, from the last run, sum over positions of a * dL/da for each sample and
// channel (sample-major: dots[s*channels+c]), and the number of channels.
func (t Tap) Dots() (dots []float64, channels int) { return t.op.dots, t.op.channels }

// tapOp is the identity, its output the input's memory; its gradient op fills dots.
type tapOp struct {
	opBase
	dims        int
	n, channels int
	dots        []float64
}

func (op *tapOp) Arity() int            { return 1 }
func (op *tapOp) Type() hm.Type         { return fnType(1, op.dims, op.dims) }
func (op *tapOp) String() string        { return "tap" }
func (op *tapOp) Hashcode() uint32      { return hashOf(op) }
func (op *tapOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *tapOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return sameShape(in, 0) }

func (op *tapOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	return newDense(s.Clone(), x), nil // the input's memory (see aliaser)
}

func (op *tapOp) DiffWRT(int) []bool { return []bool{true} }

func (op *tapOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&inputGradOp{name: "tap.grad", dims: op.dims, grad: op.read}, in[0], grad)
	return G.Nodes{dx}, err
}

// read fills dots from the layer's output a and its gradient dy, and passes dy on.
func (op *tapOp) read(a, dy, dx []float32) {
	per := len(a) / (op.n * op.channels) // positions per channel: H*W, or 1 for a linear layer
	forChunks(op.n*op.channels, func(_, lo, hi int) {
		for plane := lo; plane < hi; plane++ {
			var dot float64
			for i := plane * per; i < (plane+1)*per; i++ {
				dot += float64(a[i]) * float64(dy[i])
			}
			op.dots[plane] = dot
		}
	})
	copy(dx, dy)
}

// tap passes x, a batch x channels x ... layer output, through a new Tap.
func tap(x *G.Node) (*G.Node, Tap, error) {
	s := x.Shape()
	op := &tapOp{dims: x.Dims(), n: s[0], channels: s[1], dots: make([]float64, s[0]*s[1])}
	out, err := G.ApplyOp(op, x)
	return out, Tap{op}, err
}
