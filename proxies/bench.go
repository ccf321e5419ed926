package proxies

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"cellar/spaces"
	"cellar/stats"
)

// BenchConfig is a rank-correlation benchmark: the named proxies on each network,
// against the ground truth (e.g. NAS-Bench-201 test accuracy).
type BenchConfig struct {
	Nets  []*spaces.Net
	Truth []float64
	Names []string
	Batch Batch
	Seed  uint64
	// Progress, when set, is told after each network with how many are done.
	Progress func(done int)
}

// BenchResult is one proxy's correlation with the truth over the networks.
type BenchResult struct {
	Name              string
	Spearman, Kendall float64
	PerNet            time.Duration // to score one network with this proxy, on one worker; proxies sharing a pass report the pass's time
	Scores            []float64
}

// Bench scores every network with every proxy, networks in parallel, and correlates
// each proxy with the truth. The scores do not depend on the order or the parallelism.
func Bench(ctx context.Context, cfg BenchConfig) ([]BenchResult, error) {
	names, err := Check(cfg.Names)
	if err != nil {
		return nil, err
	}
	if len(cfg.Nets) != len(cfg.Truth) || len(cfg.Nets) < 3 {
		return nil, fmt.Errorf("proxies: %d networks and %d truths; need at least 3 of each, as many", len(cfg.Nets), len(cfg.Truth))
	}
	scores := make([][]float64, len(names)) // proxy x net
	for i := range scores {
		scores[i] = make([]float64, len(cfg.Nets))
	}
	spent := make([]time.Duration, len(names))
	var mu sync.Mutex
	jobs := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	done := 0
	// Networks in parallel for the data-free proxies, whose batch of one leaves cores
	// idle; one at a time with a batch, which nn already spreads over the cores: two
	// at once scored 16 NB201 networks in 5.4 s against 3.95 s, in 3.2 GB against 0.97.
	workers := runtime.GOMAXPROCS(0)
	if slices.ContainsFunc(names, NeedsData) {
		workers = 1
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				for _, pass := range passes(names) {
					start := time.Now()
					s, err := Score(pass, cfg.Nets[i], cfg.Batch, cfg.Seed)
					if err != nil {
						select {
						case errs <- fmt.Errorf("network %d: %w", i, err):
						default:
						}
						return
					}
					took := time.Since(start)
					mu.Lock()
					for _, name := range pass {
						p := slices.Index(names, name)
						scores[p][i] = s[name]
						spent[p] += took
					}
					mu.Unlock()
				}
				if workers == 1 {
					runtime.GC() // what the next network cannot reuse (nn's spare buffers) goes now
				}
				mu.Lock()
				done++
				if cfg.Progress != nil {
					cfg.Progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	var runErr error
feed:
	for i := range cfg.Nets {
		select {
		case jobs <- i:
		case err := <-errs:
			runErr = err
			break feed
		case <-ctx.Done():
			runErr = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if runErr == nil {
		select {
		case runErr = <-errs:
		default:
		}
	}
	if runErr != nil {
		return nil, runErr
	}
	out := make([]BenchResult, len(names))
	for p, name := range names {
		out[p] = BenchResult{Name: name, Spearman: stats.Spearman(scores[p], cfg.Truth), Kendall: stats.Kendall(scores[p], cfg.Truth),
			PerNet: spent[p] / time.Duration(len(cfg.Nets)), Scores: scores[p]}
	}
	return out, nil
}

// passes groups names by the computation they share: grad_norm, snip and fisher come
// from one backward pass (see Score), every other proxy is a pass of its own.
func passes(names []string) [][]string {
	var shared []string
	var out [][]string
	for _, n := range names {
		if n == "grad_norm" || n == "snip" || n == "fisher" {
			shared = append(shared, n)
			continue
		}
		out = append(out, []string{n})
	}
	if len(shared) > 0 {
		out = append(out, shared)
	}
	return out
}
