package strategies

import (
	"math"
	"slices"
	"sort"

	"cellar/proxies"
	"cellar/spaces"
)

// key is what the predictor counts as one arch: its function where the space has one
// (with the local search on: two cells of one function are one result), else its
// string, as before.
func (s *Predictor) key(a spaces.Arch) string {
	if s.opt.Parents > 0 || s.opt.WarmPool > 0 {
		return spaces.FunctionOf(s.space, a)
	}
	return a.String()
}

// zeroCostRanks are each arch's mean rank under the ZeroCost proxies (0 the best),
// and every proxy's scores, archs in order. A proxy without a signal for an arch
// ranks it last.
func (s *Predictor) zeroCostRanks(archs []spaces.Arch) (rank []float64, scores [][]float64) {
	rank = make([]float64, len(archs))
	scores = make([][]float64, len(s.opt.ZeroCost))
	for j, p := range s.opt.ZeroCost {
		scores[j] = make([]float64, len(archs))
		for i, a := range archs {
			v, err := proxies.DataFree(s.space, p, a)
			if err != nil || v == proxies.NoSignal || math.IsNaN(v) {
				v = math.Inf(-1)
			}
			scores[j][i] = v
		}
		for r, i := range ordered(scores[j], true) {
			rank[i] += float64(r) / float64(len(s.opt.ZeroCost))
		}
	}
	return rank, scores
}

// warmStart draws WarmPool distinct archs, queues the Initial best by zero-cost rank
// and fixes the features' scale from the pool's scores. It spends no query.
func (s *Predictor) warmStart() {
	var pool []spaces.Arch
	inPool := map[string]bool{}
	for tries := 0; len(pool) < s.opt.WarmPool && tries < 20*s.opt.WarmPool; tries++ {
		a := s.space.Sample(s.rand.rng)
		if k := s.key(a); !inPool[k] && !s.seen[k] {
			inPool[k] = true
			pool = append(pool, a)
		}
	}
	rank, scores := s.zeroCostRanks(pool)
	s.scale = make([][2]float64, len(s.opt.ZeroCost))
	for j, p := range s.opt.ZeroCost {
		var vs []float64
		for _, v := range scores[j] {
			if !math.IsInf(v, -1) {
				vs = append(vs, transform(p, v))
			}
		}
		s.scale[j] = meanSD(vs)
	}
	order := ordered(rank, false)
	for _, i := range order[:min(s.opt.Initial, len(order))] {
		s.queue = append(s.queue, Candidate{Arch: pool[i]})
	}
}

// transform puts a proxy's score on a scale where differences mean alike: the sizes
// span orders of magnitude, so they are taken as logs; synflow is one already.
func transform(proxy string, v float64) float64 {
	if proxy == "synflow" {
		return v
	}
	return math.Log1p(math.Max(v, 0))
}

// standard is a proxy's score as a feature: transformed, then standardised by the
// warm pool's mean and spread, so that it weighs like the encoding's ones and zeros
// and means the same in every round.
func (s *Predictor) standard(proxy string, v float64) float64 {
	j := slices.Index(s.opt.ZeroCost, proxy)
	m, sd := s.scale[j][0], s.scale[j][1]
	if sd == 0 {
		return 0
	}
	return (transform(proxy, v) - m) / sd
}

func meanSD(v []float64) [2]float64 {
	if len(v) == 0 {
		return [2]float64{}
	}
	var sum, ss float64
	for _, x := range v {
		sum += x
	}
	m := sum / float64(len(v))
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return [2]float64{m, math.Sqrt(ss / float64(len(v)))}
}

// localRound fits the ensemble to xs, ys and queues the K candidates of best
// acquisition: the neighbours of the Parents best archs found (best, sorted), then
// Steps times the neighbours of the Parents best candidates, and fresh draws (with
// ZeroCost, the better half by zero-cost rank: a first rung that costs no query).
func (s *Predictor) localRound(xs [][]float64, ys []float64, best []member) {
	s.rounds++
	ens, err := proxies.FitEnsemble(xs, ys, proxies.EnsembleOptions{Members: s.opt.Ensemble, Hidden: s.opt.Hidden, Epochs: s.opt.Epochs, LearnRate: s.opt.LearnRate}, s.seed*1_000_003+uint64(s.rounds)*101)
	if err != nil {
		return // Ask falls back to fresh draws
	}
	var pool []Candidate
	var acq []float64
	inPool := map[string]bool{}
	add := func(cs []Candidate) {
		var fresh []Candidate
		for _, c := range cs {
			if k := s.key(c.Arch); !s.seen[k] && !inPool[k] {
				inPool[k] = true
				fresh = append(fresh, c)
			}
		}
		if len(fresh) == 0 {
			return
		}
		feats := make([][]float64, len(fresh))
		for i, c := range fresh {
			feats[i] = s.features(c.Arch)
		}
		mean, spread := ens.Predict(feats)
		for i := range fresh {
			acq = append(acq, s.acquire(mean[i], spread[i]))
		}
		pool = append(pool, fresh...)
	}
	neighbours := func(ps []Candidate) []Candidate {
		var out []Candidate
		for _, p := range ps {
			for _, n := range s.space.Neighbours(p.Arch) {
				out = append(out, Candidate{Arch: n, Parent: p.Parent})
			}
		}
		return out
	}
	var parents []Candidate
	for _, m := range best[:min(s.opt.Parents, len(best))] {
		parents = append(parents, Candidate{Arch: m.Arch, Parent: m.Trial})
	}
	add(neighbours(parents))
	add(s.freshCandidates())
	for range s.opt.Steps {
		top := topBy(pool, acq, s.opt.Parents)
		add(neighbours(top))
	}
	s.queue = append(s.queue, topBy(pool, acq, s.opt.K)...)
}

// acquire is a candidate's acquisition value from the ensemble's mean and spread.
func (s *Predictor) acquire(mean, spread float64) float64 {
	switch s.opt.Acquisition {
	case "its":
		return mean + spread*s.rand.rng.NormFloat64()
	case "ucb":
		return mean + s.opt.Beta*spread
	}
	return mean
}

// freshCandidates are Candidates random archs, of which, with ZeroCost, the better
// half by zero-cost rank.
func (s *Predictor) freshCandidates() []Candidate {
	archs := make([]spaces.Arch, s.opt.Candidates)
	for i := range archs {
		archs[i] = s.space.Sample(s.rand.rng)
	}
	if len(s.opt.ZeroCost) == 0 {
		out := make([]Candidate, len(archs))
		for i, a := range archs {
			out[i] = Candidate{Arch: a}
		}
		return out
	}
	rank, _ := s.zeroCostRanks(archs)
	out := make([]Candidate, 0, (len(archs)+1)/2)
	for _, i := range ordered(rank, false)[:(len(archs)+1)/2] {
		out = append(out, Candidate{Arch: archs[i]})
	}
	return out
}

// topBy are the n candidates of highest value, ties to the earlier.
func topBy(pool []Candidate, value []float64, n int) []Candidate {
	order := ordered(value, true)
	out := make([]Candidate, 0, min(n, len(order)))
	for _, i := range order[:min(n, len(order))] {
		out = append(out, pool[i])
	}
	return out
}

// ordered are the indices of v by value, highest first when high (else lowest first),
// ties in index order.
func ordered(v []float64, high bool) []int {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		if high {
			return v[order[a]] > v[order[b]]
		}
		return v[order[a]] < v[order[b]]
	})
	return order
}
