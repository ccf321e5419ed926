package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"cellar/engine"
	"cellar/internal/refdata"
)

// BenchmarkSearchStored measures a search with the table evaluator and every trial
// committed to a real bbolt file (fsync included): one op is one trial. The baseline,
// BenchmarkCommitOneTrial, is a bare bbolt transaction that writes one trial record,
// the floor the disk sets; the ratio says what the engine adds. Both report trials/min.
func BenchmarkSearchStored(b *testing.B) {
	table := refdata.Require(b, refdata.NB201CIFAR10)
	for _, par := range []int{1, 4} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) {
			src := fmt.Sprintf("name: b\nseed: 1\nspace: nb201\nstrategy: regevo\nevaluator: {name: table, path: %s}\nbudget: {trials: %d}\nparallelism: %d\n", table, b.N, par)
			cfg, err := engine.ParseConfig([]byte(src))
			if err != nil {
				b.Fatal(err)
			}
			exp, err := engine.Build(cfg, []byte(src), nil)
			if err != nil {
				b.Fatal(err)
			}
			db, err := Open(filepath.Join(b.TempDir(), "b.db"), time.Second)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			x, err := db.CreateExperiment("b", []byte(src))
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if err := engine.New(exp, engine.Options{Store: x}).Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "trials/min")
		})
	}
}

func BenchmarkCommitOneTrial(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "c.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	x, _ := db.CreateExperiment("c", nil)
	tr := engine.Trial{Arch: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", Origin: "regevo", State: engine.Done, Metrics: map[string]float64{"test_accuracy": 94.37}}
	cp := engine.Checkpoint{Strategy: []byte("{}")}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		tr.ID = uint64(i + 1)
		if err := x.Commit([]engine.Trial{tr}, cp); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Minutes(), "trials/min")
}
