package nn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/datasets"
	"cellar/spaces"
	"cellar/weights"
)

// StateDict is the model's parameters and batch-norm running statistics under the
// names and in the layouts of the exported PyTorch module's state_dict (package
// export): layer ID's conv weight is "l{ID}.weight" (out, in/groups, k, k) and its
// bias "l{ID}.bias"; a factorized reduce's two convs "l{ID}.conv1.weight" and
// "l{ID}.conv2.weight"; a batch norm's "l{ID}.weight", ".bias", ".running_mean" and
// ".running_var"; a linear layer's "l{ID}.weight" (out, in: gorgonia keeps it
// transposed) and "l{ID}.bias". The values are copies.
func (m *Model) StateDict() (weights.Set, error) {
	out := weights.Set{}
	for _, p := range m.params {
		id, part, err := paramOf(p.Name())
		if err != nil {
			return nil, err
		}
		data := slices.Clone(p.Value().Data().([]float32))
		shape := []int(p.Shape().Clone())
		key := fmt.Sprintf("l%d.", id)
		switch part {
		case "w":
			if len(shape) == 2 { // linear: cin x out in gorgonia, out x cin in PyTorch
				data, shape = transpose(data, shape[0], shape[1]), []int{shape[1], shape[0]}
			}
			key += "weight"
		case "w0", "w1":
			key += "conv" + string(part[1]+1) + ".weight"
		case "b", "beta":
			key += "bias"
			shape = []int{len(data)}
		case "gamma":
			key += "weight"
		case "mix":
			continue // a supernet's mixing weights are inputs, not parameters
		default:
			return nil, fmt.Errorf("nn: parameter %s has no state_dict name", p.Name())
		}
		out[key] = weights.Tensor{Shape: shape, Data: data}
	}
	for _, bn := range m.bns {
		id, _, err := paramOf(bn.name + "/")
		if err != nil {
			return nil, err
		}
		out[fmt.Sprintf("l%d.running_mean", id)] = weights.Tensor{Shape: []int{bn.c}, Data: slices.Clone(bn.runningMean)}
		out[fmt.Sprintf("l%d.running_var", id)] = weights.Tensor{Shape: []int{bn.c}, Data: slices.Clone(bn.runningVar)}
	}
	return out, nil
}

// paramOf reads a parameter's name, "ID:layer/name/part", as its layer ID and part.
func paramOf(name string) (int, string, error) {
	idStr, rest, ok := strings.Cut(name, ":")
	id, err := strconv.Atoi(idStr)
	if !ok || err != nil {
		return 0, "", fmt.Errorf("nn: parameter %q names no layer", name)
	}
	return id, rest[strings.LastIndex(rest, "/")+1:], nil
}

func transpose(d []float32, rows, cols int) []float32 {
	out := make([]float32, len(d))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[c*rows+r] = d[r*cols+c]
		}
	}
	return out
}

// Forward runs the model on x, a batch of m.Batch inputs, and returns a copy of the
// logits. In training mode batch norms use the batch's statistics and update their
// running ones (as PyTorch's train mode does); otherwise they use the running ones.
func (m *Model) Forward(x []float32, training bool) ([]float32, error) {
	if len(x) != m.x.Shape().TotalSize() {
		return nil, fmt.Errorf("nn: forward: %d input values for a batch of shape %v", len(x), m.x.Shape())
	}
	m.SetTraining(training)
	defer m.SetTraining(true)
	if err := G.Let(m.x, newDense(m.x.Shape().Clone(), x)); err != nil {
		return nil, err
	}
	vm := G.NewTapeMachine(m.graph.SubgraphRoots(m.logits))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return nil, fmt.Errorf("nn: forward: %w", err)
	}
	return slices.Clone(m.logits.Value().Data().([]float32)), nil
}

// InitialWeights are the weights a training of net starts from, drawn from seed as
// Train draws them, under their state_dict names (batch norms' running statistics at
// their start: mean 0, variance 1, as PyTorch's).
func InitialWeights(net *spaces.Net, seed uint64) (weights.Set, error) {
	m, err := CompileWith(net, 1, rand.New(rand.NewPCG(seed, 0x7a11)), CompileOptions{NoLoss: true})
	if err != nil {
		return nil, err
	}
	return m.StateDict()
}

// LoadStateDict sets the model's parameters and batch-norm running statistics from w,
// named and laid out as StateDict gives them. Every tensor the model has must be in w
// with its shape; w may hold no other.
func (m *Model) LoadStateDict(w weights.Set) error {
	have, err := m.StateDict()
	if err != nil {
		return err
	}
	for name, t := range have {
		u, ok := w[name]
		if !ok {
			return fmt.Errorf("nn: the weights have no %s", name)
		}
		if !slices.Equal(u.Shape, t.Shape) {
			return fmt.Errorf("nn: %s is %v in the weights, %v in the model", name, u.Shape, t.Shape)
		}
	}
	for name := range w {
		if _, ok := have[name]; !ok {
			return fmt.Errorf("nn: the weights' %s is no tensor of the model", name)
		}
	}
	for _, p := range m.params {
		id, part, _ := paramOf(p.Name())
		key := fmt.Sprintf("l%d.", id)
		switch part {
		case "w":
			key += "weight"
		case "w0", "w1":
			key += "conv" + string(part[1]+1) + ".weight"
		case "b", "beta":
			key += "bias"
		case "gamma":
			key += "weight"
		default:
			continue
		}
		data, t := p.Value().Data().([]float32), w[key]
		if s := p.Shape(); len(s) == 2 && part == "w" { // linear: back to cin x out
			copy(data, transpose(t.Data, s[1], s[0]))
			continue
		}
		copy(data, t.Data)
	}
	for _, bn := range m.bns {
		id, _, _ := paramOf(bn.name + "/")
		copy(bn.runningMean, w[fmt.Sprintf("l%d.running_mean", id)].Data)
		copy(bn.runningVar, w[fmt.Sprintf("l%d.running_var", id)].Data)
	}
	return nil
}

// Accuracy is the percentage of d that net, with weights w, classifies right, in
// evaluation mode (batch norm on the running statistics of w).
func Accuracy(ctx context.Context, net *spaces.Net, w weights.Set, d *datasets.Dataset, batch int) (float64, error) {
	if err := fits(net, d); err != nil {
		return 0, err
	}
	m, err := CompileWith(net, batch, rand.New(rand.NewPCG(1, 1)), CompileOptions{NoLoss: true})
	if err != nil {
		return 0, err
	}
	if err := m.LoadStateDict(w); err != nil {
		return 0, err
	}
	xs := make([]float32, batch*d.C*d.H*d.W)
	ys := make([]float32, batch*d.Classes)
	if err := G.Let(m.x, newDense(tensor.Shape{batch, d.C, d.H, d.W}, xs)); err != nil {
		return 0, err
	}
	vm := G.NewTapeMachine(m.graph.SubgraphRoots(m.logits))
	defer vm.Close()
	return evaluate(ctx, m, vm, d, xs, ys)
}
