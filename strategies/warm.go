package strategies

import (
	"fmt"
	"slices"
	"sort"

	"cellar/proxies"
	"cellar/spaces"
)

// WarmStart starts a population from a zero-cost proxy's choice instead of at
// random: Sample random archs are scored, untrained, and the best become the first
// candidates.
type WarmStart struct {
	Proxy  string `yaml:"proxy"`  // synflow (default), params, live_params or flops: proxies that need no data
	Sample int    `yaml:"sample"` // archs scored (1000)
}

// DefaultWarmStart is a warm start's defaults, which a config's warm_start key fills in.
var DefaultWarmStart = WarmStart{Proxy: "synflow", Sample: 1000}

// check refuses proxies that need data, and samples out of range.
func (w *WarmStart) check() error {
	if _, err := proxies.Check([]string{w.Proxy}); err != nil {
		return fmt.Errorf("warm_start: %w", err)
	}
	if proxies.NeedsData(w.Proxy) {
		return fmt.Errorf("warm_start: proxy %q needs data; use synflow, params, live_params or flops", w.Proxy)
	}
	if w.Sample < 1 || w.Sample > maxPopulation {
		return fmt.Errorf("warm_start: sample %d: from 1 to %d", w.Sample, maxPopulation)
	}
	return nil
}

// warmPick draws w.Sample distinct archs with rng, scores them and returns the best
// n, best first (ties by draw order). An arch that cannot be scored ranks last.
func warmPick(space spaces.Space, w WarmStart, n int, s seeded) ([]spaces.Arch, error) {
	type scored struct {
		a spaces.Arch
		v float64
	}
	var pool []scored
	seen := map[string]bool{}
	for tries := 0; len(pool) < w.Sample && tries < 20*w.Sample; tries++ {
		a := space.Sample(s.rng)
		if seen[a.String()] {
			continue
		}
		seen[a.String()] = true
		v, err := proxies.DataFree(space, w.Proxy, a)
		if err != nil {
			v = proxies.NoSignal
		}
		pool = append(pool, scored{a, v})
	}
	sort.SliceStable(pool, func(i, j int) bool { return pool[i].v > pool[j].v })
	out := make([]spaces.Arch, 0, n)
	for _, p := range pool[:min(n, len(pool))] {
		out = append(out, p.a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("warm_start: no arch drawn")
	}
	return slices.Clip(out), nil
}
