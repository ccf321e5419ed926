package storage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"cellar/engine"
	"cellar/internal/enginetest"
)

// BenchmarkSearchStored measures a search with the table evaluator and every trial
// committed to a real bbolt file (fsync included): one op is one trial. It reports
// the search's trials/min and the trials each commit carried (trials that finish
// together share one, see engine's gather), beside two baselines from the same run:
// each-trials/min, the same search committing each trial alone (the engine before
// group commit), and BenchmarkCommitOneTrial, a bare bbolt transaction that writes
// one trial record, the floor the disk sets for one commit a trial.
// bench/throughput.sh prints the ratios.
//
// The search and its commit-each baseline run in alternating rounds, each round
// both of them on the same seed: this disk's speed drifts over seconds, and two
// measurements one after the other had put the ratio anywhere from 2.6x to 4.5x.
func BenchmarkSearchStored(b *testing.B) {
	for _, par := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) { searchStored(b, par) })
	}
}

// storedRounds is how many times each of the two searches runs in a measurement.
const storedRounds = 8

// searchStored runs stored table searches of b.N trials in all at parallelism par,
// alternately gathering trials into commits and committing each alone.
func searchStored(b *testing.B, par int) {
	b.StopTimer()
	var took [2]time.Duration // committing each, gathering
	commits := 0
	for r := range storedRounds {
		n := b.N / storedRounds
		if r < b.N%storedRounds {
			n++
		}
		if n == 0 {
			continue
		}
		for i := range 2 {
			each := (r+i)%2 == 0 // which runs first alternates from round to round
			d, c := storedSearch(b, par, n, uint64(r+1), each)
			if each {
				took[0] += d
			} else {
				took[1] += d
				commits += c
			}
		}
	}
	b.ReportMetric(float64(b.N)/took[1].Minutes(), "trials/min")
	b.ReportMetric(float64(b.N)/float64(commits), "trials/commit")
	b.ReportMetric(float64(b.N)/took[0].Minutes(), "each-trials/min")
}

// storedSearch runs one stored table search of n trials and returns how long it ran
// and how many commits it made; each commits every trial alone.
func storedSearch(b *testing.B, par, n int, seed uint64, each bool) (time.Duration, int) {
	src := fmt.Sprintf("name: b\nseed: %d\nspace: nb201\nstrategy: regevo\nevaluator: {name: table, path: nb201}\nbudget: {trials: %d}\nparallelism: %d\n", seed, n, par)
	exp := enginetest.Build(b, src)
	db, err := Open(filepath.Join(b.TempDir(), "b.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	x, err := db.CreateExperiment("b", []byte(src))
	if err != nil {
		b.Fatal(err)
	}
	counted := &countingStore{Store: x}
	if !each {
		b.StartTimer()
	}
	start := time.Now()
	err = engine.New(exp, engine.Options{Store: counted, CommitEach: each}).Run(context.Background())
	took := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	return took, counted.commits
}

// countingStore counts a store's commits.
type countingStore struct {
	engine.Store
	commits int
}

func (c *countingStore) Commit(trials []engine.Trial, cp engine.Checkpoint) error {
	c.commits++
	return c.Store.Commit(trials, cp)
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

// fill commits n table-search trials to x in batches, as a finished search leaves them.
func fill(tb testing.TB, x *Experiment, n int) {
	tb.Helper()
	now := time.Now().UTC()
	const batch = 20000
	for start := 1; start <= n; start += batch {
		trials := make([]engine.Trial, 0, batch)
		for id := start; id < start+batch && id <= n; id++ {
			trials = append(trials, engine.Trial{ID: uint64(id), Arch: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
				Origin: "regevo", Parent: uint64(id / 2), State: engine.Done, Seed: uint64(id) * 2654435761,
				Metrics: map[string]float64{"test_accuracy": 94.37, "valid_accuracy": 91.2, "params": 1.5e6, "flops": 2.2e8, "train_seconds": 1234.5},
				Queued:  now, Started: now, Finished: now})
		}
		if err := x.Commit(trials, engine.Checkpoint{Strategy: []byte("{}"), NextID: uint64(min(start+batch, n+1))}); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkOpen measures what opening a finished n-trial DB costs, page walk
// included (read-only, as a browser opens it), and BenchmarkCheck what cellar check
// costs (every page walked, every record decoded); each beside the baseline of
// reading the file once from the page cache, in the same run. CELLAR_BENCH_TRIALS
// lists the sizes (default 100000; the README's 1M figures are 1000000).
func BenchmarkOpen(b *testing.B) {
	benchBigDB(b, "open-readonly", func(b *testing.B, path string) {
		verified.Delete(path) // time the walk, not the memo of it
		db, err := OpenReadOnly(path, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	})
}

func BenchmarkCheck(b *testing.B) {
	benchBigDB(b, "check", func(b *testing.B, path string) {
		if r, err := Check(path); err != nil || !r.OK() {
			b.Fatal(err, r)
		}
	})
}

// benchBigDB writes a finished DB of each size and times op on it after the
// read-file baseline.
func benchBigDB(b *testing.B, name string, op func(b *testing.B, path string)) {
	sizes := []int{100000}
	if s := os.Getenv("CELLAR_BENCH_TRIALS"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatalf("CELLAR_BENCH_TRIALS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		path := filepath.Join(b.TempDir(), "big.db")
		db, err := Open(path, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		x, _ := db.CreateExperiment("big", nil)
		fill(b, x, n)
		db.Close()
		st, _ := os.Stat(path)
		b.Logf("%d trials: %d MB", n, st.Size()>>20)
		b.Run(fmt.Sprintf("trials=%d/read-file", n), func(b *testing.B) {
			for b.Loop() {
				f, _ := os.Open(path)
				io.Copy(io.Discard, f)
				f.Close()
			}
		})
		b.Run(fmt.Sprintf("trials=%d/%s", n, name), func(b *testing.B) {
			for b.Loop() {
				op(b, path)
			}
		})
		if name == "open-readonly" {
			b.Run(fmt.Sprintf("trials=%d/open-again", n), func(b *testing.B) {
				for b.Loop() { // unchanged since the last walk: as the browser's chunks open it
					db, err := OpenReadOnly(path, time.Second)
					if err != nil {
						b.Fatal(err)
					}
					db.Close()
				}
			})
		}
	}
}
