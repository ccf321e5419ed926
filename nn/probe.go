package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Probe runs a compiled model forward and backward on one batch to read gradients
// and activations, for scores of untrained networks (zero-cost proxies). Parameter
// values may be changed between runs through Values.
type Probe struct {
	m     *Model
	cost  *G.Node
	grads []*G.Node // d cost / d wrt[i]
	vm    G.VM
}

// Cost names the scalar a probe differentiates.
type Cost int

const (
	// CrossEntropy is the model's mean cross-entropy loss on the labels.
	CrossEntropy Cost = iota
	// SumOfLogits is the sum of every logit over the batch (synflow, jacob_cov).
	SumOfLogits
)

// NewProbe prepares m to differentiate cost with respect to wrt: parameters, the
// input X, or activations such as m.ReLUs.
func NewProbe(m *Model, cost Cost, wrt []*G.Node) (*Probe, error) {
	c := m.Loss
	if cost == SumOfLogits {
		var err error
		if c, err = G.Sum(m.Logits); err != nil {
			return nil, fmt.Errorf("nn: probe: %w", err)
		}
	}
	var grads G.Nodes
	if len(wrt) > 0 { // none: a forward pass only
		var err error
		if grads, err = grad(c, wrt...); err != nil {
			return nil, fmt.Errorf("nn: probe gradients: %w", err)
		}
	}
	// Layer outputs share memory as in training (Model.PlanMemory): a probe of the
	// benchmark skeleton at batch 64 held every value and gradient of the graph.
	m.planMemory(append(grads, c))
	return &Probe{m: m, cost: c, grads: grads, vm: G.NewTapeMachine(m.Graph)}, nil
}

// Run computes everything for a batch: x is batch x C x H x W, y one-hot labels
// (ignored, and may be nil, for SumOfLogits).
func (p *Probe) Run(x, y []float32) error {
	m := p.m
	if err := G.Let(m.X, newDense(m.X.Shape().Clone(), x)); err != nil {
		return err
	}
	if y == nil {
		y = make([]float32, m.Y.Shape().TotalSize())
	}
	if err := G.Let(m.Y, newDense(m.Y.Shape().Clone(), y)); err != nil {
		return err
	}
	p.vm.Reset()
	return p.vm.RunAll()
}

// Cost is the differentiated scalar of the last run.
func (p *Probe) Cost() float64 { return float64(Values(p.cost)[0]) }

// Grad is the gradient with respect to the i-th node of wrt, from the last run.
func (p *Probe) Grad(i int) []float32 { return Values(p.grads[i]) }

// Close releases the machine, and the model's layer memory for the next model to
// take: the model's values are not to be read after.
func (p *Probe) Close() {
	p.vm.Close()
	p.m.releaseMemory()
}

// Values is the float32 values of a node: a parameter's, which may be changed in
// place before a run, or a computed node's after one.
func Values(n *G.Node) []float32 {
	v := n.Value()
	if v == nil {
		return nil
	}
	switch d := v.(type) {
	case *tensor.Dense:
		return d.Data().([]float32)
	case *G.F32:
		return []float32{float32(*d)}
	}
	return nil
}
