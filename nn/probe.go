package nn

import (
	"fmt"
	"slices"

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

// Wrt names what a probe differentiates its cost with respect to.
type Wrt int

const (
	// Nothing: a forward pass only, for scores read off the activations.
	Nothing Wrt = iota
	// Weights: the conv and linear weights, in the order of Model.WeightValues.
	Weights
	// Input: the input batch.
	Input
)

// NewProbe prepares m to differentiate cost with respect to wrt.
func NewProbe(m *Model, cost Cost, wrt Wrt) (*Probe, error) {
	var nodes []*G.Node
	switch wrt {
	case Weights:
		nodes = m.weights
	case Input:
		nodes = []*G.Node{m.x}
	}
	return newProbe(m, cost, nodes)
}

// newProbe differentiates cost with respect to any nodes of m (nn's own tests probe
// activations and parameters).
func newProbe(m *Model, cost Cost, wrt []*G.Node) (*Probe, error) {
	c := m.loss
	if cost == SumOfLogits {
		var err error
		if c, err = G.Sum(m.logits); err != nil {
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
	return &Probe{m: m, cost: c, grads: grads, vm: G.NewTapeMachine(m.graph)}, nil
}

// Run computes everything for a batch: x is batch x C x H x W, y one-hot labels
// (ignored, and may be nil, for SumOfLogits).
func (p *Probe) Run(x, y []float32) error {
	m := p.m
	if err := G.Let(m.x, newDense(m.x.Shape().Clone(), x)); err != nil {
		return err
	}
	if y == nil {
		y = make([]float32, m.y.Shape().TotalSize())
	}
	if err := G.Let(m.y, newDense(m.y.Shape().Clone(), y)); err != nil {
		return err
	}
	p.vm.Reset()
	return p.vm.RunAll()
}

// Cost is the differentiated scalar of the last run.
func (p *Probe) Cost() float64 { return float64(values(p.cost)[0]) }

// Grad is the gradient with respect to the i-th tensor of wrt (the i-th weight, or
// the input), from the last run.
func (p *Probe) Grad(i int) []float32 { return values(p.grads[i]) }

// Close releases the machine, and the model's layer memory for the next model to
// take: the model's values are not to be read after.
func (p *Probe) Close() {
	p.vm.Close()
	p.m.releaseMemory()
}

// values is the float32 values of a node: a parameter's, which may be changed in
// place before a run, or a computed node's after one.
func values(n *G.Node) []float32 {
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

// WeightValues are the values of the conv and linear weights (no biases or batch-norm
// scales): what pruning-based scores weigh. They may be changed in place before a run.
func (m *Model) WeightValues() [][]float32 { return valuesOf(m.weights) }

// OtherParamValues are the values of the parameters that are not weights (biases,
// batch-norm scales and shifts), changeable in place as WeightValues are.
func (m *Model) OtherParamValues() [][]float32 {
	var out [][]float32
	for _, p := range m.params {
		if !slices.Contains(m.weights, p) {
			out = append(out, values(p))
		}
	}
	return out
}

// ReLUValues are the outputs of every ReLU of the last run, in layer order: readable
// only when compiled with ReadReLUs (otherwise their memory is shared).
func (m *Model) ReLUValues() [][]float32 { return valuesOf(m.relus) }

// ReLUCount is how many ReLUs the model has.
func (m *Model) ReLUCount() int { return len(m.relus) }

// LogitValues are the logits of the last run, batch x classes.
func (m *Model) LogitValues() []float32 { return values(m.logits) }

func valuesOf(nodes []*G.Node) [][]float32 {
	out := make([][]float32, len(nodes))
	for i, n := range nodes {
		out[i] = values(n)
	}
	return out
}

// InputLen is how many values a batch of input holds: batch x C x H x W.
func (m *Model) InputLen() int { return m.x.Shape().TotalSize() }
