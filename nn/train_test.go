package nn

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"cellar/datasets"
	"cellar/internal/testkit"
	"cellar/spaces"
)

var mnistShape = spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}

func mnist(t testing.TB) *datasets.Data {
	t.Helper()
	d, err := datasets.Load("mnist", "")
	if err != nil {
		t.Fatalf("built-in MNIST: %v", err)
	}
	return d
}

func network(t testing.TB, s spaces.Space, arch string) *spaces.Net {
	t.Helper()
	a, err := s.Parse([]byte(arch))
	if err != nil {
		t.Fatal(err)
	}
	net, err := s.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// smallNB201 is the NB201 skeleton shrunk (8 channels, one cell per stage) so tests
// train in seconds; the cell is the benchmark's.
func smallNB201(t testing.TB, arch string) *spaces.Net {
	t.Helper()
	s, err := spaces.NewNB201(spaces.NB201Options{Options: mnistShape, Channels: 8, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	return network(t, s, arch)
}

const bestNB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

// TestCellsLearn trains the NB201 cell and a seed-style cell on 2,000 MNIST digits
// for one epoch: both reach well above chance (10%; one epoch leaves the running
// batch-norm statistics behind, as in PyTorch); a cell of only none ops cannot learn.
func TestCellsLearn(t *testing.T) {
	d := mnist(t)
	train, val, err := d.Split(1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	cell, err := spaces.NewCell(spaces.CellOptions{Options: mnistShape, Nodes: 4, Layers: 3, Channels: 4})
	if err != nil {
		t.Fatal(err)
	}
	type learns struct {
		name     string
		net      *spaces.Net
		min, max float64
	}
	// -short trains the NB201 cell and the all-none one (what learning is measured
	// against); the full suite the cell space's too.
	cases := []learns{
		{"nb201 cell", smallNB201(t, bestNB201), 60, 100},
		{"seed-style cell", network(t, cell, "normal=|sep_conv_3x3~0|conv_3x3~1|+|skip_connect~0|max_pool_3x3~2|+|dilated_conv_3x3~2|avg_pool_3x3~1|+|conv_5x5~3|identity~4|;reduce=|max_pool_3x3~0|sep_conv_5x5~1|+|conv_3x3~2|skip_connect~0|+|avg_pool_3x3~1|dilated_conv_3x3~3|+|identity~2|conv_3x3~4|"), 60, 100},
		{"all-none cell", smallNB201(t, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), 0, 25},
	}
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name
	}
	testkit.Sweep(t, names, func(name string) bool { return name != "seed-style cell" }, func(t *testing.T, name string) {
		tc := cases[slices.Index(names, name)]
		start := time.Now()
		res, err := Train(context.Background(), tc.net, train, val, nil, trainConfig(func(c *TrainConfig) { c.Epochs = 1; c.Batch = 32 }), 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("val %.1f%% in %s (%.0f samples/s)", res.ValAcc, time.Since(start).Round(time.Millisecond), float64(res.Samples)/res.Seconds)
		if res.ValAcc < tc.min || res.ValAcc > tc.max {
			t.Errorf("val accuracy %.1f%%, want %v..%v", res.ValAcc, tc.min, tc.max)
		}
	})
}

func TestTrainingIsDeterministic(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 256)
	net := smallNB201(t, bestNB201)
	run := func(seed uint64) *Result {
		res, err := Train(context.Background(), net, train, val, nil, trainConfig(func(c *TrainConfig) { c.Epochs = 1; c.Batch = 32; c.ProgressEvery = 1 }), seed, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b, c := run(5), run(5), run(6)
	if a.Loss != b.Loss || a.ValAcc != b.ValAcc {
		t.Errorf("one seed, two results: loss %v vs %v, val %v vs %v", a.Loss, b.Loss, a.ValAcc, b.ValAcc)
	}
	if a.Loss == c.Loss {
		t.Errorf("seeds 5 and 6 gave the same loss %v", a.Loss)
	}
}

func TestProgressReported(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 320)
	var steps, epochs int
	_, err := Train(context.Background(), smallNB201(t, bestNB201), train, val, nil, trainConfig(func(c *TrainConfig) { c.Epochs = 2; c.Batch = 32; c.ProgressEvery = 5 }), 1, func(p Progress) {
		if math.IsNaN(p.ValAcc) {
			steps++
		} else {
			epochs++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if steps != 4 || epochs != 2 { // 20 steps: reports at 5, 10, 15, 20; two epoch ends
		t.Errorf("%d step reports and %d epoch reports; want 4 and 2", steps, epochs)
	}
}

func TestCancelStopsTraining(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 10000)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Train(ctx, smallNB201(t, bestNB201), train, val, nil, trainConfig(func(c *TrainConfig) { c.Epochs = 5 }), 1, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("train after cancel: %v", err)
	}
}

func TestDivergenceFailsWithReason(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 640)
	_, err := Train(context.Background(), smallNB201(t, bestNB201), train, val, nil, trainConfig(func(c *TrainConfig) { c.LR = 1e6 }), 1, nil)
	if err == nil || !strings.Contains(err.Error(), "training diverged") {
		t.Fatalf("lr 1e6: %v", err)
	}
}

func TestShapeMismatchNamed(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 640)
	cifarNet := network(t, mustNB201(t, spaces.DefaultNB201), bestNB201)
	_, err := Train(context.Background(), cifarNet, train, val, nil, DefaultTrainConfig, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "set the space's input to [1, 28, 28]") {
		t.Fatalf("CIFAR-shaped net on MNIST: %v", err)
	}
}

func mustNB201(t testing.TB, o spaces.NB201Options) *spaces.NB201 {
	s, err := spaces.NewNB201(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeCIFAR writes n records per batch file in CIFAR-10's binary format.

// trainConfig is DefaultTrainConfig with some settings changed.
func trainConfig(change func(*TrainConfig)) TrainConfig {
	c := DefaultTrainConfig
	change(&c)
	return c
}

// The weights Train hands back are the trained model: scored again on the validation
// set they give the accuracy the training measured, and a fresh model does not.
func TestTrainedWeightsScoreAsTrained(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 512)
	net := smallNB201(t, bestNB201)
	res, err := Train(context.Background(), net, train, val, nil, trainConfig(func(c *TrainConfig) { c.Epochs = 2; c.Batch = 32; c.Weights = true }), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Weights == nil || res.Weights.Count(".weight", ".bias") != net.Params() {
		t.Fatalf("trained weights: %d values, the network has %d parameters", res.Weights.Count(".weight", ".bias"), net.Params())
	}
	acc, err := Accuracy(context.Background(), net, res.Weights, val, 100)
	if err != nil {
		t.Fatal(err)
	}
	if acc != res.ValAcc {
		t.Errorf("the trained weights score %v on the validation set; the training measured %v", acc, res.ValAcc)
	}
	fresh, _ := InitialWeights(net, 3)
	if acc, _ := Accuracy(context.Background(), net, fresh, val, 100); acc >= res.ValAcc {
		t.Errorf("untrained weights score %v, as well as trained ones (%v)", acc, res.ValAcc)
	}
	bad := maps.Clone(res.Weights)
	delete(bad, "l1.weight")
	if _, err := Accuracy(context.Background(), net, bad, val, 100); err == nil || !strings.Contains(err.Error(), "no l1.weight") {
		t.Errorf("weights without a tensor: %v", err)
	}
}

// crossEntropy sums -log softmax(logits)[label] over labelled rows, stably: padding
// rows (no label) add nothing, and a logit of 1000 does not overflow.
func TestCrossEntropy(t *testing.T) {
	logits := []float32{0, 0, 1000, 0, 3, 1, 7, 7}
	labels := []float32{1, 0, 0, 1, 0, 0, 0, 1} // the third row is padding
	want := math.Ln2 + 1000 + 0 + math.Ln2
	if got := crossEntropy(logits, labels, 2, 4); math.Abs(got-want) > 1e-9 {
		t.Errorf("cross-entropy %v, want %v", got, want)
	}
}
