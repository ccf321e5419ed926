package nn

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/datasets"
	"cellar/spaces"
	"cellar/weights"
)

// TrainConfig sets up training. The zero value of a field means its default.
type TrainConfig struct {
	Epochs        int     `yaml:"epochs"`         // passes over the training set (1)
	Batch         int     `yaml:"batch"`          // mini-batch size (64)
	LR            float64 `yaml:"lr"`             // peak learning rate, decayed by a cosine to 0 (0.05)
	Momentum      float64 `yaml:"momentum"`       // SGD momentum (0.9)
	WeightDecay   float64 `yaml:"weight_decay"`   // L2 weight decay (5e-4)
	ProgressEvery int     `yaml:"progress_every"` // steps between progress reports (50; 0: at epoch ends only)
	// Continue, when set, is asked after each epoch but the last, with the epochs
	// done and the validation accuracy: false stops the training there (early
	// stopping), without the test.
	Continue func(epochs int, valAcc float64) bool `yaml:"-"`
	// Weights asks for the trained model's weights in Result.Weights.
	Weights bool `yaml:"-"`
}

// DefaultTrainConfig are the defaults: a config's options are decoded onto them, and a
// caller wanting them starts from them (a zero field means zero).
var DefaultTrainConfig = TrainConfig{Epochs: 1, Batch: 64, LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, ProgressEvery: 50}

// Check reports a setting that cannot train.
func (c TrainConfig) Check() error {
	switch {
	case c.Epochs < 1 || c.Epochs > 10000:
		return fmt.Errorf("epochs %d must be from 1 to 10000", c.Epochs)
	case c.Batch < 1 || c.Batch > 65536:
		return fmt.Errorf("batch %d must be from 1 to 65536", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("lr %v must be a positive number", c.LR)
	case c.Momentum < 0 || c.Momentum >= 1:
		return fmt.Errorf("momentum %v must be in [0, 1)", c.Momentum)
	case c.WeightDecay < 0:
		return fmt.Errorf("weight_decay %v must not be negative", c.WeightDecay)
	case c.ProgressEvery < 0:
		return fmt.Errorf("progress_every %d must not be negative (0: at epoch ends only)", c.ProgressEvery)
	}
	return nil
}

// Progress is a report during training.
type Progress struct {
	Epoch    float64 // fractional epochs done
	Step     int
	Loss     float64 // mean training loss since the last report
	Accuracy float64 // training accuracy since the last report, in percent
	ValAcc   float64 // validation accuracy in percent at an epoch's end; NaN elsewhere
}

// EpochPoint is the learning curve after one epoch.
type EpochPoint struct {
	Epoch     int
	Step      int
	TrainLoss float64
	TrainAcc  float64
	ValAcc    float64
	Seconds   float64
}

// Result is what a training run measured.
type Result struct {
	ValAcc  float64 // percent, after the last epoch
	TestAcc float64 // percent; NaN when no test set was given
	Loss    float64 // training loss of the last epoch
	Curve   []EpochPoint
	Seconds float64
	Samples int  // training samples processed
	Stopped bool // Continue stopped it before its last epoch
	// Weights are the trained model's state_dict (Model.StateDict), when
	// TrainConfig.Weights asked for them.
	Weights weights.Set
}

// Train trains net from scratch on train, validating on val after each epoch and
// testing on test (if not nil) at the end. Everything random comes from seed, so one
// seed gives one result. It returns ctx's error promptly when ctx ends, and an error
// naming the step when the loss stops being finite.
func Train(ctx context.Context, net *spaces.Net, train, val, test *datasets.Dataset, cfg TrainConfig, seed uint64, progress func(Progress)) (*Result, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if err := fits(net, train); err != nil {
		return nil, err
	}
	steps := train.N / cfg.Batch
	if steps == 0 {
		return nil, fmt.Errorf("%d training examples make no batch of %d", train.N, cfg.Batch)
	}
	rng := rand.New(rand.NewPCG(seed, 0x7a11))
	m, err := Compile(net, cfg.Batch, rng)
	if err != nil {
		return nil, err
	}
	if _, err := grad(m.loss, m.params...); err != nil {
		return nil, fmt.Errorf("nn: gradients: %w", err)
	}
	m.PlanMemory()
	vm := G.NewTapeMachine(m.graph, G.BindDualValues(m.params...), G.WithEngine(engine{}))
	defer vm.Close()
	evalVM := G.NewTapeMachine(m.graph.SubgraphRoots(m.logits))
	defer evalVM.Close()

	sz := train.C * train.H * train.W
	xs := make([]float32, cfg.Batch*sz)
	ys := make([]float32, cfg.Batch*train.Classes)
	if err := G.Let(m.x, newDense(tensor.Shape{cfg.Batch, train.C, train.H, train.W}, xs)); err != nil {
		return nil, err
	}
	if err := G.Let(m.y, newDense(tensor.Shape{cfg.Batch, train.Classes}, ys)); err != nil {
		return nil, err
	}
	velocity := make([][]float32, len(m.params))
	for i, p := range m.params {
		velocity[i] = make([]float32, p.Shape().TotalSize())
	}

	start := time.Now()
	res := &Result{TestAcc: math.NaN()}
	total := cfg.Epochs * steps
	idx := make([]int, cfg.Batch)
	step := 0
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		perm := rng.Perm(train.N)
		var epochLoss, repLoss float64
		var epochRight, repRight, repSeen int
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			copy(idx, perm[s*cfg.Batch:(s+1)*cfg.Batch])
			train.Fill(idx, xs, ys)
			if err := vm.RunAll(); err != nil {
				return nil, fmt.Errorf("nn: step %d: %w", step, err)
			}
			loss := float64(m.loss.Value().Data().(float32))
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("training diverged: the loss is %v at epoch %d step %d (try a lower lr)", loss, epoch+1, step+1)
			}
			right := correct(m.logits.Value().Data().([]float32), ys, train.Classes, cfg.Batch)
			lr := cfg.LR * 0.5 * (1 + math.Cos(math.Pi*float64(step)/float64(total)))
			if err := sgdStep(m.params, velocity, float32(lr), float32(cfg.Momentum), float32(cfg.WeightDecay)); err != nil {
				return nil, err
			}
			vm.Reset()
			step++
			epochLoss += loss
			repLoss += loss
			epochRight += right
			repRight += right
			repSeen++
			if progress != nil && cfg.ProgressEvery > 0 && step%cfg.ProgressEvery == 0 {
				progress(Progress{Epoch: float64(step) / float64(steps), Step: step, Loss: repLoss / float64(repSeen),
					Accuracy: 100 * float64(repRight) / float64(repSeen*cfg.Batch), ValAcc: math.NaN()})
				repLoss, repRight, repSeen = 0, 0, 0
			}
		}
		valAcc, err := evaluate(ctx, m, evalVM, val, xs, ys)
		if err != nil {
			return nil, err
		}
		pt := EpochPoint{Epoch: epoch + 1, Step: step, TrainLoss: epochLoss / float64(steps), TrainAcc: 100 * float64(epochRight) / float64(steps*cfg.Batch), ValAcc: valAcc, Seconds: time.Since(start).Seconds()}
		res.Curve = append(res.Curve, pt)
		if progress != nil {
			progress(Progress{Epoch: float64(epoch + 1), Step: step, Loss: pt.TrainLoss, Accuracy: pt.TrainAcc, ValAcc: valAcc})
		}
		if cfg.Continue != nil && epoch+1 < cfg.Epochs && !cfg.Continue(epoch+1, valAcc) {
			res.Stopped = true
			break
		}
	}
	last := res.Curve[len(res.Curve)-1]
	res.ValAcc, res.Loss = last.ValAcc, last.TrainLoss
	res.Samples = step * cfg.Batch
	if test != nil && !res.Stopped {
		if res.TestAcc, err = evaluate(ctx, m, evalVM, test, xs, ys); err != nil {
			return nil, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if cfg.Weights {
		if res.Weights, err = m.StateDict(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// fits says whether net takes d's images and has an output per class.
func fits(net *spaces.Net, d *datasets.Dataset) error {
	in := net.Layers[0].Shape
	if [3]int{in.C, in.H, in.W} != d.Shape() {
		return fmt.Errorf("the network takes %v inputs but %s images are %dx%dx%d: set the space's input to [%d, %d, %d]",
			in, d.Name, d.C, d.H, d.W, d.C, d.H, d.W)
	}
	if out := net.Layers[net.Output].Shape.C; out != d.Classes {
		return fmt.Errorf("the network has %d outputs but %s has %d classes: set the space's classes to %d", out, d.Name, d.Classes, d.Classes)
	}
	return nil
}

// sgdStep applies v = momentum*v + g + wd*w; w -= lr*v to every parameter, then zeroes
// the gradients (gorgonia adds each run's gradients to the last ones).
func sgdStep(params []*G.Node, velocity [][]float32, lr, momentum, wd float32) error {
	for i, p := range params {
		gv, err := p.Grad()
		if err != nil {
			return fmt.Errorf("nn: %s has no gradient: %w", p.Name(), err)
		}
		g := gv.Data().([]float32)
		w := p.Value().Data().([]float32)
		v := velocity[i]
		for j := range w {
			v[j] = momentum*v[j] + g[j] + wd*w[j]
			w[j] -= lr * v[j]
			g[j] = 0
		}
	}
	return nil
}

// correct counts the rows whose largest logit is the one-hot label's.
func correct(logits, onehot []float32, classes, rows int) int {
	n := 0
	for r := 0; r < rows; r++ {
		l, y := logits[r*classes:(r+1)*classes], onehot[r*classes:(r+1)*classes]
		best := 0
		for c := range l {
			if l[c] > l[best] {
				best = c
			}
		}
		if y[best] == 1 {
			n++
		}
	}
	return n
}

// crossEntropy is the summed cross-entropy of the labelled rows (padding rows have
// an all-zero label and add nothing), computed in float64 with the max subtracted.
func crossEntropy(logits, onehot []float32, classes, rows int) float64 {
	var sum float64
	for r := 0; r < rows; r++ {
		l, y := logits[r*classes:(r+1)*classes], onehot[r*classes:(r+1)*classes]
		label := slices.Index(y, 1)
		if label < 0 {
			continue
		}
		top := float64(slices.Max(l))
		var z float64
		for _, v := range l {
			z += math.Exp(float64(v) - top)
		}
		sum += top + math.Log(z) - float64(l[label])
	}
	return sum
}

// Score is what evaluating a model on a dataset measures.
type Score struct {
	Accuracy float64 // percent classified right
	Loss     float64 // mean cross-entropy: unlike accuracy, it moves with every example's confidence
}

// evaluate returns d's accuracy in percent, with batch norms on running statistics.
func evaluate(ctx context.Context, m *Model, vm G.VM, d *datasets.Dataset, xs, ys []float32) (float64, error) {
	s, err := score(ctx, m, vm, d, xs, ys)
	return s.Accuracy, err
}

// score is d's accuracy and loss, with batch norms on running statistics. The last
// batch is padded; padding rows have no label and count for nothing.
func score(ctx context.Context, m *Model, vm G.VM, d *datasets.Dataset, xs, ys []float32) (Score, error) {
	m.SetTraining(false)
	defer m.SetTraining(true)
	idx := make([]int, m.Batch)
	right := 0
	var loss float64
	for lo := 0; lo < d.N; lo += m.Batch {
		if err := ctx.Err(); err != nil {
			return Score{}, err
		}
		for i := range idx {
			idx[i] = -1
			if lo+i < d.N {
				idx[i] = lo + i
			}
		}
		d.Fill(idx, xs, ys)
		if err := vm.RunAll(); err != nil {
			return Score{}, fmt.Errorf("nn: evaluate: %w", err)
		}
		logits := m.logits.Value().Data().([]float32)
		right += correct(logits, ys, d.Classes, m.Batch)
		loss += crossEntropy(logits, ys, d.Classes, m.Batch)
		vm.Reset()
	}
	return Score{Accuracy: 100 * float64(right) / float64(d.N), Loss: loss / float64(d.N)}, nil
}
