package nn

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// grad is gorgonia's Grad (reverse-mode symbolic differentiation of the scalar cost
// with respect to the input nodes wrt), except for one thing: where a value feeds
// several ops, the gradients they send back are summed by this package's addOp, not
// by gorgonia's Add. The memory plan can share only the outputs of ops that say when
// they are done reading (see memPlan); gorgonia's Add does not, so every gradient
// it summed kept a buffer of its own for the whole run: 0.2 GB on the largest NB201
// network at batch 64, a fifth of what scoring a zero-cost proxy held. The sums are
// taken in gorgonia's order, so the gradients are the same to the bit.
//
// It follows gorgonia's Backpropagate: the nodes both reachable from wrt and
// reaching cost are visited from cost back, each one's gradient terms summed, then
// passed to its inputs through its op's SymDiff. Each gradient is recorded as the
// node's derivative (G.SetDerivOf), as Grad does, for BindDualValues.
func grad(cost *G.Node, wrt ...*G.Node) (G.Nodes, error) {
	if !cost.IsScalar() {
		return nil, fmt.Errorf("nn: grad: the cost %v is not a scalar", cost)
	}
	for _, n := range wrt {
		if n.Op() != nil {
			return nil, fmt.Errorf("nn: grad: %v is not an input node", n)
		}
	}
	g := cost.Graph()
	sorted, err := G.Sort(g) // the cost first, inputs last
	if err != nil {
		return nil, fmt.Errorf("nn: grad: %w", err)
	}
	b := &backprop{g: g, kids: map[*G.Node][]*G.Node{}}
	reaches, reached := b.reaches(cost, sorted), b.reached(wrt, sorted)
	for _, n := range wrt {
		if !reaches[n] {
			return nil, fmt.Errorf("nn: grad: the cost does not depend on %v", n)
		}
	}
	if !reached[cost] {
		return nil, errors.New("nn: grad: the cost depends on none of the nodes differentiated for")
	}
	terms := map[*G.Node]G.Nodes{cost: {g.AddNode(G.NewConstant(float32(1)))}}
	for _, n := range sorted {
		if reaches[n] && reached[n] {
			if err := b.pass(n, terms); err != nil {
				return nil, err
			}
		}
	}
	out := make(G.Nodes, len(wrt))
	for i, n := range wrt {
		out[i] = terms[n][0]
	}
	return out, nil
}

// backprop is one differentiation's walk of the graph.
type backprop struct {
	g    *G.ExprGraph
	kids map[*G.Node][]*G.Node // each node's inputs, in order, read once
}

func (b *backprop) children(n *G.Node) []*G.Node {
	if cs, ok := b.kids[n]; ok {
		return cs
	}
	var cs []*G.Node
	it := b.g.From(n.ID())
	for it.Next() {
		cs = append(cs, it.Node().(*G.Node))
	}
	b.kids[n] = cs
	return cs
}

func diffWRT(n *G.Node, arity int) []bool {
	if op, ok := n.Op().(G.SDOp); ok {
		return op.DiffWRT(arity)
	}
	return nil
}

// reaches are the nodes the cost depends on differentiably.
func (b *backprop) reaches(cost *G.Node, sorted G.Nodes) map[*G.Node]bool {
	reaches := map[*G.Node]bool{cost: true}
	for _, n := range sorted {
		if !reaches[n] || n.Op() == nil {
			continue
		}
		cs := b.children(n)
		for j, d := range diffWRT(n, len(cs)) {
			if d {
				reaches[cs[j]] = true
			}
		}
	}
	return reaches
}

// reached are the nodes that depend differentiably on wrt.
func (b *backprop) reached(wrt, sorted G.Nodes) map[*G.Node]bool {
	reached := map[*G.Node]bool{}
	for _, n := range wrt {
		reached[n] = true
	}
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		cs := b.children(n)
		for j, d := range diffWRT(n, len(cs)) {
			if d && reached[cs[j]] {
				reached[n] = true
				break
			}
		}
	}
	return reached
}

// pass sums n's gradient terms, records the sum as n's derivative and sends n's
// inputs their terms through its op's SymDiff.
func (b *backprop) pass(n *G.Node, terms map[*G.Node]G.Nodes) error {
	if d := n.Deriv(); d != nil { // differentiated before: gorgonia reuses it
		terms[n] = append(terms[n], d)
		return nil
	}
	ts := terms[n]
	if len(ts) == 0 {
		return fmt.Errorf("nn: grad: no gradient reaches %v", n)
	}
	sum, err := sumTerms(ts)
	if err != nil {
		return fmt.Errorf("nn: grad: summing the gradients of %v: %w", n, err)
	}
	G.SetDerivOf(sum, n)
	terms[n] = G.Nodes{sum}
	if n.Op() == nil {
		return nil
	}
	op, ok := n.Op().(G.SDOp)
	if !ok {
		return fmt.Errorf("nn: grad: %v cannot be differentiated", n)
	}
	cs := b.children(n)
	grads, err := op.SymDiff(cs, n, sum)
	if err != nil {
		return fmt.Errorf("nn: grad: %v: %w", n, err)
	}
	for j, d := range op.DiffWRT(len(cs)) {
		if d {
			terms[cs[j]] = append(terms[cs[j]], grads[j])
		}
	}
	return nil
}

// sumTerms adds a node's gradient terms in order, ((t0 + t1) + t2) + ..., as
// gorgonia's ReduceAdd does: with addOp where they are float32 tensors of one shape,
// else with gorgonia's Add (scalars).
func sumTerms(ts G.Nodes) (*G.Node, error) {
	ours := ts[0].Dims() > 0
	for _, t := range ts {
		if t.Dtype() != tensor.Float32 || !t.Shape().Eq(ts[0].Shape()) {
			ours = false
		}
	}
	if !ours {
		return G.ReduceAdd(ts)
	}
	sum := ts[0]
	for _, t := range ts[1:] {
		var err error
		if sum, err = add(sum, t); err != nil {
			return nil, err
		}
	}
	return sum, nil
}
