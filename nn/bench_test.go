package nn

import (
	"math/rand/v2"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/spaces"
)

// ReferenceArch is the training benchmark's network: this NB201 cell in the full
// benchmark skeleton (16 channels, 5 cells per stage) on 1x28x28 inputs, batch 64.
const ReferenceArch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

// BenchmarkTrainStep times training steps (forward, backward, SGD update) of the
// reference network on random batches, like bench/nb201_torch.py does for PyTorch,
// and reports samples/s and the GFLOP/s they amount to (2 FLOPs a multiply-add, a
// training step counted as three forward passes).
func BenchmarkTrainStep(b *testing.B) {
	s, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 16, Cells: 5})
	if err != nil {
		b.Fatal(err)
	}
	a, _ := s.Parse([]byte(ReferenceArch))
	net, err := s.Network(a)
	if err != nil {
		b.Fatal(err)
	}
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
	G.Let(m.X, newDense(tensor.Shape{batch, 1, 28, 28}, x))
	G.Let(m.Y, newDense(tensor.Shape{batch, 10}, y))
	if _, err := G.Grad(m.Loss, m.Params...); err != nil {
		b.Fatal(err)
	}
	m.PlanMemory()
	vm := G.NewTapeMachine(m.Graph, G.BindDualValues(m.Params...), G.WithEngine(engine{}))
	defer vm.Close()
	vel := make([][]float32, len(m.Params))
	for i, p := range m.Params {
		vel[i] = make([]float32, p.Shape().TotalSize())
	}
	step := func() {
		vm.Reset()
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		if err := sgdStep(m.Params, vel, 0.01, 0.9, 5e-4); err != nil {
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
