package evaluators

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync"

	"cellar/datasets"
	"cellar/engine"
	"cellar/nn"
	"cellar/spaces"
)

// TrainOptions configure the train evaluator.
type TrainOptions struct {
	Dataset  string `yaml:"dataset"`   // mnist (built in), fashion-mnist or cifar10
	Path     string `yaml:"path"`      // the dataset's folder, where it is not built in
	Val      int    `yaml:"val"`       // validation examples held out of the training set (5000)
	Subset   int    `yaml:"subset"`    // training examples used (0: all the rest)
	Test     *bool  `yaml:"test"`      // also measure test accuracy (true)
	TestSize int    `yaml:"test_size"` // test examples used for it (0: the whole test set)
	Seed     uint64 `yaml:"seed"`      // mixed into each trial's training seed
	// EarlyStop stops unpromising trainings before their last epoch.
	EarlyStop *EarlyStopOptions `yaml:"early_stop"`
	// KeepWeights says whose trained weights are kept beside the DB, for export
	// (best and front).
	KeepWeights    KeepWeights `yaml:"keep_weights"`
	nn.TrainConfig `yaml:",inline"`
}

// DefaultTrain are the train evaluator's defaults, which a config's options are
// decoded onto.
var DefaultTrain = TrainOptions{Dataset: "mnist", Val: 5000, KeepWeights: KeepWeights{"best", "front"}, TrainConfig: nn.DefaultTrainConfig}

// Train evaluates an architecture by training it from scratch on real data. Its
// metrics: val_accuracy (the default objective), test_accuracy, params, flops,
// train_seconds and train_loss; the learning curve goes with the trial.
type Train struct {
	space              spaces.Space
	opt                TrainOptions
	train, valid, test *datasets.Dataset

	earlyStopping // by val_accuracy; off without early_stop
	keeper        *keeper

	mu      sync.Mutex
	resized map[[2]int]*[3]*datasets.Dataset // train, valid, test at another resolution
}

// NewTrain loads the dataset (once per process) and checks the options, taken as
// they are (a caller wanting the defaults starts from DefaultTrain).
func NewTrain(space spaces.Space, opt TrainOptions) (*Train, error) {
	if err := opt.TrainConfig.Check(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	data, err := datasets.Load(opt.Dataset, opt.Path)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := spaceFits(space, data.Train); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	t := &Train{space: space, opt: opt}
	t.keeper = newKeeper(opt.KeepWeights, engine.DefaultObjectives(t.Metrics()))
	if opt.EarlyStop != nil {
		t.metric = "val_accuracy"
		if t.stop, err = newStopper(*opt.EarlyStop, opt.Epochs); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
	}
	if t.train, t.valid, err = data.Split(opt.Val, opt.Subset); err != nil {
		return nil, fmt.Errorf("train: %s: %w", opt.Dataset, err)
	}
	if opt.Test == nil || *opt.Test {
		t.test = data.Test
		if opt.TestSize < 0 || opt.TestSize > data.Test.N {
			return nil, fmt.Errorf("train: test_size %d must be from 0 (all) to %d", opt.TestSize, data.Test.N)
		}
		if opt.TestSize > 0 {
			t.test = data.Test.Slice(0, opt.TestSize)
		}
	}
	return t, nil
}

// Samples is how many training samples one evaluation processes (whole batches).
func (t *Train) Samples() int {
	c := t.opt.TrainConfig
	return c.Epochs * (t.train.N / c.Batch) * c.Batch
}

func (t *Train) Metrics() []string {
	return []string{"val_accuracy", "test_accuracy", "params", "flops", "train_seconds", "train_loss", "epochs"}
}

// seed is a training's seed: in a search, the trial's (from the experiment's seed
// and the trial id), so a run is reproducible however its trials interleave;
// elsewhere the arch's, so one arch always trains the same way. The evaluator's own
// seed is mixed in.
func (t *Train) seed(job engine.Job) uint64 {
	if job.Trial != 0 {
		return job.Seed ^ t.opt.Seed
	}
	h := fnv.New64a()
	h.Write([]byte(job.Arch.String()))
	return h.Sum64() ^ t.opt.Seed
}

func (t *Train) Evaluate(ctx context.Context, job engine.Job, progress func(engine.Progress)) (engine.Outcome, error) {
	net, err := t.space.Network(job.Arch)
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("build network: %w", err)
	}
	report := func(p nn.Progress) {
		if progress == nil {
			return
		}
		m := map[string]float64{"loss": p.Loss, "accuracy": p.Accuracy}
		if !math.IsNaN(p.ValAcc) {
			m["val_accuracy"] = p.ValAcc
		}
		progress(engine.Progress{Epoch: p.Epoch, Step: p.Step, Metrics: m})
	}
	in := net.Layers[0].Shape
	sets := t.at(in.H, in.W)
	cfg := t.opt.TrainConfig
	cfg.Weights = t.keeper.wants(job)
	var stop *engine.Stop
	if t.stop != nil && !job.Judged {
		judge := t.judge(job)
		cfg.Continue = func(epochs int, val float64) bool {
			var ok bool
			ok, stop = judge(epochs, val)
			return ok
		}
	}
	res, err := nn.Train(ctx, net, sets[0], sets[1], sets[2], cfg, t.seed(job), report)
	if err != nil {
		return engine.Outcome{}, err
	}
	out := engine.Outcome{Metrics: map[string]float64{
		"val_accuracy":  res.ValAcc,
		"params":        float64(net.Params()),
		"flops":         float64(net.FLOPs()),
		"train_seconds": res.Seconds,
		"train_loss":    res.Loss,
	}}
	if !math.IsNaN(res.TestAcc) {
		out.Metrics["test_accuracy"] = res.TestAcc
	}
	out.Metrics["epochs"] = float64(len(res.Curve))
	if !res.Stopped {
		curve := make([]float64, len(res.Curve))
		for i, p := range res.Curve {
			curve[i] = p.ValAcc
		}
		t.finished(job, curve)
		if err := t.keeper.keep(job, out.Metrics, res.Weights); err != nil {
			return engine.Outcome{}, err
		}
	}
	out.Stop = stop
	for _, p := range res.Curve {
		out.Curve = append(out.Curve, engine.CurvePoint{Epoch: float64(p.Epoch), Step: p.Step, Duration: p.Seconds,
			Metrics: map[string]float64{"train_loss": p.TrainLoss, "train_accuracy": p.TrainAcc, "val_accuracy": p.ValAcc}})
	}
	return out, nil
}

// at is the train, validation and test sets at h x w: the dataset's own, or resampled
// once for the networks that compound scaling gives another input resolution.
func (t *Train) at(h, w int) [3]*datasets.Dataset {
	if h == t.train.H && w == t.train.W {
		return [3]*datasets.Dataset{t.train, t.valid, t.test}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	key := [2]int{h, w}
	if s, ok := t.resized[key]; ok {
		return *s
	}
	if t.resized == nil {
		t.resized = map[[2]int]*[3]*datasets.Dataset{}
	}
	s := [3]*datasets.Dataset{t.train.Resized(h, w), t.valid.Resized(h, w), nil}
	if t.test != nil {
		s[2] = t.test.Resized(h, w)
	}
	t.resized[key] = &s
	return s
}

// spaceFits refuses, before anything runs, a space whose networks cannot take the
// data: other channels than its images have, or another number of outputs than its
// classes. (Another height and width is fine: the data is resampled to the network's
// input, as compound scaling needs.) Every arch of a space has its input and classes,
// so one drawn arch tells.
func spaceFits(space spaces.Space, data *datasets.Dataset) error {
	net, err := space.Network(space.Sample(rand.New(rand.NewPCG(1, 1))))
	if err != nil {
		return nil // the trials will say why; this is only a check of shapes
	}
	in := net.Layers[0].Shape
	switch {
	case in.C != data.C:
		return fmt.Errorf("the space's networks take %dx%dx%d inputs but %s images are %dx%dx%d: set the space's input to [%d, %d, %d]",
			in.C, in.H, in.W, data.Name, data.C, data.H, data.W, data.C, data.H, data.W)
	case net.Layers[net.Output].Shape.C != data.Classes:
		return fmt.Errorf("the space's networks have %d outputs but %s has %d classes: set the space's classes to %d",
			net.Layers[net.Output].Shape.C, data.Name, data.Classes, data.Classes)
	}
	return nil
}
