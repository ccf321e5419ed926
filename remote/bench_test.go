package remote_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"cellar/engine"
	"cellar/internal/enginetest"
	"cellar/remote"
)

// timed records how long each evaluation took: for the remote evaluator, from
// publishing the job to holding the outcome.
type timed struct {
	engine.Evaluator
	mu sync.Mutex
	d  []time.Duration
}

func (t *timed) Evaluate(ctx context.Context, j engine.Job, p func(engine.Progress)) (engine.Outcome, error) {
	start := time.Now()
	out, err := t.Evaluator.Evaluate(ctx, j, p)
	t.mu.Lock()
	t.d = append(t.d, time.Since(start))
	t.mu.Unlock()
	return out, err
}

func (t *timed) report(b *testing.B) {
	slices.Sort(t.d)
	if n := len(t.d); n > 0 {
		b.ReportMetric(float64(t.d[n/2].Microseconds()), "p50-µs/trial")
		b.ReportMetric(float64(t.d[n*99/100].Microseconds()), "p99-µs/trial")
	}
}

// BenchmarkSearchInProcess is the baseline: the table search with the engine's own
// workers, as many as the remote runs have slots. One op is one trial.
func BenchmarkSearchInProcess(b *testing.B) {
	for _, slots := range []int{2, 4, 8} {
		b.Run(fmt.Sprintf("parallel=%d", slots), func(b *testing.B) {
			exp := enginetest.Build(b, tableSrc(b, b.N, slots))
			ev := &timed{Evaluator: exp.Evaluator}
			exp.Evaluator = ev
			b.ResetTimer()
			start := time.Now()
			if err := engine.New(exp, engine.Options{Store: &enginetest.MemStore{}}).Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "trials/min")
			ev.report(b)
		})
	}
}

// BenchmarkSearchThroughWorkers is the same search with its trials on the NATS queue
// of an embedded server, taken by 1, 2 and 4 workers (two slots each) in this
// process, stored by the search. One op is one trial.
func BenchmarkSearchThroughWorkers(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			s := server(b)
			workers(b, s, n)
			exp := enginetest.Build(b, tableSrc(b, b.N, 2*n))
			ev, err := remote.NewEvaluator(context.Background(), connect(b, s, "search"), remote.DefaultOptions, fmt.Sprintf("bench%d-%d", n, b.N), exp.Source, exp.Evaluator, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ev.Close()
			tm := &timed{Evaluator: ev}
			exp.Evaluator = tm
			b.ResetTimer()
			start := time.Now()
			if err := engine.New(exp, engine.Options{Store: remote.Store{Store: &enginetest.MemStore{}, Evaluator: ev}}).Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "trials/min")
			tm.report(b)
		})
	}
}
