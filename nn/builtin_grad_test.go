package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The gorgonia built-ins the compiler uses, checked like the ops of this package.
// (gorgonia's Mean over axes 2 and 3 fails this check, so global pooling is an op here.)
func TestBuiltinGradients(t *testing.T) {
	checkGrad(t, "rectify", []tensor.Shape{{2, 3, 4, 4}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.Rectify(in[0])
	})
	checkGrad(t, "globalpool", []tensor.Shape{{2, 3, 4, 4}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.ApplyOp(&globalPoolOp{}, in[0])
	})
	checkGrad(t, "concat", []tensor.Shape{{2, 3, 4, 4}, {2, 2, 4, 4}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.Concat(1, in[0], in[1])
	})
	checkGrad(t, "add", []tensor.Shape{{2, 3, 4, 4}, {2, 3, 4, 4}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.Add(in[0], in[1])
	})
	checkGrad(t, "linear", []tensor.Shape{{4, 5}, {5, 3}, {1, 3}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		mm, err := G.Mul(in[0], in[1])
		if err != nil {
			return nil, err
		}
		return G.BroadcastAdd(mm, in[2], nil, []byte{0})
	})
	checkGrad(t, "logsoftmax", []tensor.Shape{{4, 5}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.LogSoftMax(in[0])
	})
	checkGrad(t, "reuse", []tensor.Shape{{2, 3, 4, 4}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		r, err := G.Rectify(in[0])
		if err != nil {
			return nil, err
		}
		return G.Add(r, in[0])
	})
}
