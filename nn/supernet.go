package nn

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/datasets"
	"cellar/spaces"
)

// Supernet is a compiled supernet with the state of its training: the shared weights
// of one-shot search and of DARTS. Every method takes the mixing weights to run with
// (edges x ops, see spaces.OneShot): one-hot rows run one path, softmax rows the
// continuous relaxation. It is not safe for concurrent use.
type Supernet struct {
	Spec     *spaces.Supernet
	m        *Model
	vm       G.VM // loss, with gradients of the parameters and the mixing weights
	evalVM   G.VM // logits only
	xs, ys   []float32
	velocity [][]float32
	// init are the conv and linear weights (Model.Weights) as drawn, before any
	// training: Angle measures from them.
	init    [][]float32
	data    [3]int // the input shape
	classes int
	// noSkip runs every branch even when its weight is zero (for tests: the gated
	// run must give the same results).
	noSkip bool
}

// NewSupernet compiles sn at a fixed batch size, its weights drawn from seed.
func NewSupernet(sn *spaces.Supernet, batch int, seed uint64) (*Supernet, error) {
	m, err := CompileWith(sn.Net, batch, rand.New(rand.NewPCG(seed, 0x5e9e)), CompileOptions{Mixes: sn.Mixes})
	if err != nil {
		return nil, err
	}
	if _, err := G.Grad(m.loss, append(append([]*G.Node{}, m.params...), m.mixes...)...); err != nil {
		return nil, fmt.Errorf("nn: supernet gradients: %w", err)
	}
	in := sn.Net.Layers[0].Shape
	s := &Supernet{Spec: sn, m: m, data: [3]int{in.C, in.H, in.W}, classes: m.logits.Shape()[1]}
	s.vm = G.NewTapeMachine(m.graph, G.BindDualValues(append(append([]*G.Node{}, m.params...), m.mixes...)...), G.WithEngine(engine{}))
	s.evalVM = G.NewTapeMachine(m.graph.SubgraphRoots(m.logits))
	s.xs = make([]float32, batch*in.Elems())
	s.ys = make([]float32, batch*s.classes)
	if err := G.Let(m.x, newDense(tensor.Shape{batch, in.C, in.H, in.W}, s.xs)); err != nil {
		return nil, err
	}
	if err := G.Let(m.y, newDense(tensor.Shape{batch, s.classes}, s.ys)); err != nil {
		return nil, err
	}
	s.velocity = make([][]float32, len(m.params))
	for i, p := range m.params {
		s.velocity[i] = make([]float32, p.Shape().TotalSize())
	}
	for _, n := range m.weights {
		s.init = append(s.init, slices.Clone(n.Value().Data().([]float32)))
	}
	return s, nil
}

// Close frees the machines.
func (s *Supernet) Close() {
	s.vm.Close()
	s.evalVM.Close()
}

// Batch is the batch size it was compiled for.
func (s *Supernet) Batch() int { return s.m.Batch }

// Params is the number of trainable values.
func (s *Supernet) Params() int {
	n := 0
	for _, p := range s.m.params {
		n += p.Shape().TotalSize()
	}
	return n
}

// Fits says whether d is data this supernet takes.
func (s *Supernet) Fits(d *datasets.Dataset) error { return fits(s.Spec.Net, d) }

// setMix gives every mix its edge's weights, and switches off the branches weighted
// zero: a one-hot path then costs about what the arch's own network does.
func (s *Supernet) setMix(w [][]float32) error {
	if err := s.checkMix(w); err != nil {
		return err
	}
	for i, mx := range s.Spec.Mixes {
		copy(s.m.mixes[i].Value().Data().([]float32), w[mx.Edge])
		for j, g := range s.m.gates[i] {
			*g = w[mx.Edge][j] == 0 && !s.noSkip
		}
	}
	return nil
}

// checkMix says whether w has a row of a weight per op for every edge.
func (s *Supernet) checkMix(w [][]float32) error {
	if len(w) != len(s.Spec.Edges) {
		return fmt.Errorf("nn: %d rows of mixing weights for %d edges", len(w), len(s.Spec.Edges))
	}
	for e, row := range w {
		if len(row) != len(s.Spec.Ops) {
			return fmt.Errorf("nn: edge %d has %d mixing weights for %d ops", e, len(row), len(s.Spec.Ops))
		}
	}
	return nil
}

// run does a forward and backward pass on examples idx of d (len(idx) == Batch) and
// returns the loss; the gradients are left on the nodes, those of the mixing weights
// only when mixGrad is set (zero otherwise).
func (s *Supernet) run(d *datasets.Dataset, idx []int, w [][]float32, mixGrad bool) (float64, error) {
	if len(idx) != s.m.Batch {
		return 0, fmt.Errorf("nn: %d examples for a batch of %d", len(idx), s.m.Batch)
	}
	if err := s.setMix(w); err != nil {
		return 0, err
	}
	s.m.noMixGrad = !mixGrad
	d.Fill(idx, s.xs, s.ys)
	defer s.vm.Reset()
	if err := s.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("nn: supernet: %w", err)
	}
	loss := float64(s.m.loss.Value().Data().(float32))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		s.zeroGrads()
		return loss, fmt.Errorf("the supernet's loss is %v (try a lower lr)", loss)
	}
	return loss, nil
}

func (s *Supernet) zeroGrads() {
	for _, n := range append(append([]*G.Node{}, s.m.params...), s.m.mixes...) {
		if g, err := n.Grad(); err == nil {
			clear(g.Data().([]float32))
		}
	}
}

// TrainStep is one SGD step (momentum, weight decay) of the weights on examples idx
// of d with mixing weights w, and returns the loss. Parameters whose gradient is zero
// (those off a one-hot path) are left alone, momentum and decay included, as they
// would be if the path were the whole network.
func (s *Supernet) TrainStep(d *datasets.Dataset, idx []int, w [][]float32, lr, momentum, wd float32) (float64, error) {
	return s.TrainPaths(d, idx, [][][]float32{w}, lr, momentum, wd)
}

// TrainPaths is one SGD step on the sum of the gradients of several paths (mixing
// weights ws) on the same examples, as FairNAS takes one over a set of paths that
// puts every op of every edge on one path; it returns the mean loss. A parameter
// that no path reaches is left alone, as in TrainStep.
func (s *Supernet) TrainPaths(d *datasets.Dataset, idx []int, ws [][][]float32, lr, momentum, wd float32) (float64, error) {
	var loss float64
	for _, w := range ws { // each run adds its gradients to the last's
		l, err := s.run(d, idx, w, false)
		if err != nil {
			s.zeroGrads()
			return l, err
		}
		loss += l / float64(len(ws))
	}
	for i, p := range s.m.params {
		gv, err := p.Grad()
		if err != nil {
			return loss, fmt.Errorf("nn: %s has no gradient: %w", p.Name(), err)
		}
		g := gv.Data().([]float32)
		if allZero(g) {
			continue
		}
		v, wt := s.velocity[i], p.Value().Data().([]float32)
		for j := range wt {
			v[j] = momentum*v[j] + g[j] + wd*wt[j]
			wt[j] -= lr * v[j]
			g[j] = 0
		}
	}
	for _, n := range s.m.mixes {
		if g, err := n.Grad(); err == nil {
			clear(g.Data().([]float32))
		}
	}
	return loss, nil
}

func allZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// MixGrad is the gradient of the loss on examples idx of d with respect to the mixing
// weights (edges x ops: the sum over every cell's mix of that edge), with the loss.
// The weights are not changed.
func (s *Supernet) MixGrad(d *datasets.Dataset, idx []int, w [][]float32) (float64, [][]float64, error) {
	loss, _, mix, err := s.grads(d, idx, w, false)
	return loss, mix, err
}

// Grads is MixGrad with the gradient of every parameter too (in Weights' order).
func (s *Supernet) Grads(d *datasets.Dataset, idx []int, w [][]float32) (float64, [][]float32, [][]float64, error) {
	return s.grads(d, idx, w, true)
}

func (s *Supernet) grads(d *datasets.Dataset, idx []int, w [][]float32, params bool) (float64, [][]float32, [][]float64, error) {
	loss, err := s.run(d, idx, w, true)
	if err != nil {
		return loss, nil, nil, err
	}
	defer s.zeroGrads()
	var pg [][]float32
	if params {
		for _, p := range s.m.params {
			gv, err := p.Grad()
			if err != nil {
				return loss, nil, nil, fmt.Errorf("nn: %s has no gradient: %w", p.Name(), err)
			}
			pg = append(pg, slices.Clone(gv.Data().([]float32)))
		}
	}
	grad := make([][]float64, len(s.Spec.Edges))
	for i := range grad {
		grad[i] = make([]float64, len(s.Spec.Ops))
	}
	for i, mx := range s.Spec.Mixes {
		gv, err := s.m.mixes[i].Grad()
		if err != nil {
			return loss, nil, nil, fmt.Errorf("nn: mix %d has no gradient: %w", i, err)
		}
		for j, v := range gv.Data().([]float32) {
			grad[mx.Edge][j] += float64(v)
		}
	}
	return loss, pg, grad, nil
}

// Snapshot copies the weights, velocities and batch norm statistics; the function it
// returns writes them back.
func (s *Supernet) Snapshot() (restore func()) {
	arrays := s.arrays()
	saved := make([][]float32, len(arrays))
	for i, a := range arrays {
		saved[i] = slices.Clone(a)
	}
	return func() {
		for i, a := range arrays {
			copy(a, saved[i])
		}
	}
}

// ClearMomentum zeroes the optimiser's velocities, so that the next steps start
// afresh (fine-tuning one path of a trained supernet).
func (s *Supernet) ClearMomentum() {
	for _, v := range s.velocity {
		clear(v)
	}
}

// Weights are copies of the parameters' values.
func (s *Supernet) Weights() [][]float32 {
	out := make([][]float32, len(s.m.params))
	for i, p := range s.m.params {
		out[i] = slices.Clone(p.Value().Data().([]float32))
	}
	return out
}

// SetWeights writes values of Weights' shape into the parameters.
func (s *Supernet) SetWeights(v [][]float32) {
	for i, p := range s.m.params {
		copy(p.Value().Data().([]float32), v[i])
	}
}

// Recalibrate replaces the batch norms' running statistics with their plain average
// over the given batches of d run with mixing weights w: weights shared by many paths
// have statistics of none of them, so a path is evaluated on its own (as single-path
// one-shot search does).
func (s *Supernet) Recalibrate(ctx context.Context, d *datasets.Dataset, batches [][]int, w [][]float32) error {
	if err := s.setMix(w); err != nil {
		return err
	}
	for _, bn := range s.m.bns {
		clear(bn.runningMean)
		clear(bn.runningVar)
	}
	defer func() {
		for _, bn := range s.m.bns {
			bn.momentum = 0.1
		}
	}()
	for i, idx := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, bn := range s.m.bns {
			bn.momentum = 1 / float32(i+1) // the running value becomes the mean of the i+1 batches
		}
		d.Fill(idx, s.xs, s.ys)
		if err := s.evalVM.RunAll(); err != nil {
			return fmt.Errorf("nn: recalibrate: %w", err)
		}
		s.evalVM.Reset()
	}
	return nil
}

// Accuracy is the percentage of d classified right with mixing weights w, with batch
// norms on their running statistics.
func (s *Supernet) Accuracy(ctx context.Context, d *datasets.Dataset, w [][]float32) (float64, error) {
	sc, err := s.Score(ctx, d, w)
	return sc.Accuracy, err
}

// Score is d's accuracy and cross-entropy with mixing weights w, as Accuracy.
func (s *Supernet) Score(ctx context.Context, d *datasets.Dataset, w [][]float32) (Score, error) {
	if err := s.setMix(w); err != nil {
		return Score{}, err
	}
	return score(ctx, s.m, s.evalVM, d, s.xs, s.ys)
}

// The weights' binary form: a magic word, the number of arrays, then each array's
// length and values (parameters, their velocities, the batch norms' running means and
// variances), little-endian.
const supernetMagic = "cellar-supernet-1"

// MarshalBinary saves the weights, the optimiser's velocities and the running
// statistics, so that training resumes exactly.
func (s *Supernet) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(supernetMagic)
	arrays := s.arrays()
	binary.Write(&buf, binary.LittleEndian, uint32(len(arrays)))
	for _, a := range arrays {
		binary.Write(&buf, binary.LittleEndian, uint32(len(a)))
		binary.Write(&buf, binary.LittleEndian, a)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary restores what MarshalBinary saved, into a supernet of the same
// shape; a saved state of another shape is an error, and nothing is changed then.
func (s *Supernet) UnmarshalBinary(b []byte) error {
	r := bytes.NewReader(b)
	magic := make([]byte, len(supernetMagic))
	if _, err := r.Read(magic); err != nil || string(magic) != supernetMagic {
		return fmt.Errorf("nn: not a saved supernet")
	}
	arrays := s.arrays()
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || int(n) != len(arrays) {
		return fmt.Errorf("nn: saved supernet has %d arrays, this one %d: it was built with other options", n, len(arrays))
	}
	read := make([][]float32, len(arrays))
	for i, a := range arrays {
		var l uint32
		if err := binary.Read(r, binary.LittleEndian, &l); err != nil || int(l) != len(a) {
			return fmt.Errorf("nn: saved supernet array %d has %d values, this one %d: it was built with other options", i, l, len(a))
		}
		read[i] = make([]float32, l)
		if err := binary.Read(r, binary.LittleEndian, read[i]); err != nil {
			return fmt.Errorf("nn: saved supernet array %d: %w", i, err)
		}
	}
	if r.Len() != 0 {
		return fmt.Errorf("nn: saved supernet has %d bytes too many", r.Len())
	}
	for i, a := range arrays {
		copy(a, read[i])
	}
	return nil
}

func (s *Supernet) arrays() [][]float32 {
	var out [][]float32
	for _, p := range s.m.params {
		out = append(out, p.Value().Data().([]float32))
	}
	out = append(out, s.velocity...)
	for _, bn := range s.m.bns {
		out = append(out, bn.runningMean, bn.runningVar)
	}
	return out
}
