package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	. "cellar/engine"
)

// BenchmarkSearchNoStore measures the engine in bench mode (storage off, table
// evaluator): one op is one trial through the whole ask/evaluate/tell path. The
// baseline, BenchmarkTableLookup, is the bare lookup the trial wraps; the ratio of
// the two is the engine's overhead. Both report queries/min.
func BenchmarkSearchNoStore(b *testing.B) {
	for _, strategy := range tableStrategies() {
		b.Run(strategy, func(b *testing.B) {
			exp := tableConfig(b, strategy, b.N, 1)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if err := New(exp, Options{}).Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "queries/min")
		})
	}
}

func BenchmarkTableLookup(b *testing.B) {
	exp := tableConfig(b, "random", 1, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	archs := make([]fmt.Stringer, 1024)
	for i := range archs {
		archs[i] = exp.Space.Sample(rng)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := exp.Evaluator.Evaluate(context.Background(), Job{Arch: archs[i%len(archs)]}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "queries/min")
}
