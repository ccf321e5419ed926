package nn

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/spaces"
)

// ReferenceArch is the training benchmark's network: this NB201 cell in the full
// benchmark skeleton (16 channels, 5 cells per stage) on 1x28x28 inputs, batch 64.
const ReferenceArch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

// The benchmark's other networks (CELLAR_BENCH_NET), both on 1x28x28 inputs in 10
// classes; bench/train_vs_torch.sh --net exports the same ones to PyTorch.
const (
	// DARTSArch is a DARTS-space network of 8 cells at 16 channels (4 nodes):
	// sep_conv 3x3 and 5x5, dilated conv, pools and skips.
	DARTSArch = "normal=|sep_conv_3x3~0|sep_conv_5x5~1|+|sep_conv_3x3~0|sep_conv_3x3~1|+|sep_conv_3x3~1|skip_connect~0|+|skip_connect~0|dilated_conv_3x3~2|;" +
		"reduce=|max_pool_3x3~0|sep_conv_5x5~1|+|skip_connect~2|max_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~2|+|skip_connect~2|dilated_conv_3x3~1|"
	// MBConvArch is a network-space net of MBConv blocks, expansion 6, kernels 3 and 5
	// (a 16-channel stem).
	MBConvArch = "|mbconv,d=1,w=16,k=3,e=6|mbconv,d=2,w=32,k=5,e=6|mbconv,d=2,w=64,k=3,e=6|mbconv,d=2,w=128,k=5,e=6|"
)

// benchNet is the network CELLAR_BENCH_NET names: the NB201 reference (empty or
// "nb201"), "darts" or "mbconv".
func benchNet(b *testing.B) *spaces.Net {
	mnist := spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}
	var s spaces.Space
	var arch string
	var err error
	switch name := os.Getenv("CELLAR_BENCH_NET"); name {
	case "", "nb201":
		s, err = spaces.NewNB201(spaces.NB201Options{Options: mnist, Channels: 16, Cells: 5})
		arch = ReferenceArch
	case "darts":
		s, err = spaces.NewCell(spaces.CellOptions{Options: mnist, Nodes: 4, Layers: 8, Channels: 16})
		arch = DARTSArch
	case "mbconv":
		s, err = spaces.NewNetwork(spaces.NetworkOptions{Options: mnist, Stem: 16})
		arch = MBConvArch
	default:
		b.Fatalf("CELLAR_BENCH_NET=%s: use nb201, darts or mbconv", name)
	}
	if err != nil {
		b.Fatal(err)
	}
	a, err := s.Parse([]byte(arch))
	if err != nil {
		b.Fatal(err)
	}
	net, err := s.Network(a)
	if err != nil {
		b.Fatal(err)
	}
	return net
}

// BenchmarkTrainStep times training steps (forward, backward, SGD update) of the
// reference network (or CELLAR_BENCH_NET's) on random batches, like
// bench/nb201_torch.py and bench/torch_step.py do for PyTorch, and reports samples/s
// and the GFLOP/s they amount to (2 FLOPs a multiply-add, a training step counted as
// three forward passes).
func BenchmarkTrainStep(b *testing.B) {
	net := benchNet(b)
	const batch = 64
	rng := rand.New(rand.NewPCG(1, 1))
	m, err := Compile(net, batch, rng)
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float32, batch*784)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]float32, batch*10)
	for i := 0; i < batch; i++ {
		y[i*10+rng.IntN(10)] = 1
	}
	G.Let(m.x, newDense(tensor.Shape{batch, 1, 28, 28}, x))
	G.Let(m.y, newDense(tensor.Shape{batch, 10}, y))
	if _, err := grad(m.loss, m.params...); err != nil {
		b.Fatal(err)
	}
	m.PlanMemory()
	vm := G.NewTapeMachine(m.graph, G.BindDualValues(m.params...), G.WithEngine(engine{}))
	defer vm.Close()
	vel := make([][]float32, len(m.params))
	for i, p := range m.params {
		vel[i] = make([]float32, p.Shape().TotalSize())
	}
	step := func() {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		if err := sgdStep(m.params, vel, 0.01, 0.9, 5e-4); err != nil {
			b.Fatal(err)
		}
	}
	step() // warm-up
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		step()
	}
	rate := float64(b.N*batch) / time.Since(start).Seconds()
	b.ReportMetric(rate, "samples/s")
	b.ReportMetric(rate*3*2*float64(net.FLOPs())/1e9, "GFLOP/s")
}

// bench/train_vs_torch.sh --net exports these same networks to PyTorch: its archs
// and options must be the benchmark's.
func TestTrainVsTorchScriptNamesTheBenchNets(t *testing.T) {
	script, err := os.ReadFile("../bench/train_vs_torch.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{DARTSArch, MBConvArch, "nodes: 4, layers: 8, channels: 16", "stem: 16", "input: [1, 28, 28]"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("bench/train_vs_torch.sh lacks %q", want)
		}
	}
}
