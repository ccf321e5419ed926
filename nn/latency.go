package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	G "gorgonia.org/gorgonia"

	"cellar/spaces"
)

// ForwardTimer times inference forward passes: batch norms on running statistics,
// no loss, one compiled graph per network.
type ForwardTimer struct {
	Batch  int // samples per pass (1: the latency of one request)
	Warmup int // passes run first and not timed (allocations, caches)
	Reps   int // timed passes; the median is reported
}

// Time compiles net and returns the median wall time of Reps forward passes. The
// network may end in any layer, so a single layer can be timed on its own.
func (t ForwardTimer) Time(net *spaces.Net) (time.Duration, error) {
	if t.Batch < 1 || t.Reps < 1 || t.Warmup < 0 {
		return 0, fmt.Errorf("nn: forward timer: batch %d and reps %d must be positive, warmup %d not negative", t.Batch, t.Reps, t.Warmup)
	}
	m, err := CompileWith(net, t.Batch, rand.New(rand.NewPCG(1, 2)), CompileOptions{NoLoss: true})
	if err != nil {
		return 0, err
	}
	m.SetTraining(false)
	x := uniform(rand.New(rand.NewPCG(3, 4)), m.x.Shape().TotalSize(), 1)
	if err := G.Let(m.x, newDense(m.x.Shape().Clone(), x)); err != nil {
		return 0, err
	}
	vm := G.NewTapeMachine(m.graph.SubgraphRoots(m.logits))
	defer vm.Close()
	times := make([]time.Duration, 0, t.Reps)
	for i := 0; i < t.Warmup+t.Reps; i++ {
		start := time.Now()
		if err := vm.RunAll(); err != nil {
			return 0, fmt.Errorf("nn: forward pass: %w", err)
		}
		if i >= t.Warmup {
			times = append(times, time.Since(start))
		}
		vm.Reset()
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}
