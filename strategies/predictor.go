package strategies

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"

	"cellar/proxies"
	"cellar/spaces"
)

// PredictorOptions configure predictor-guided search.
type PredictorOptions struct {
	Initial     int     `yaml:"initial"`     // random archs before the first model (10)
	Candidates  int     `yaml:"candidates"`  // archs ranked by the model each round (100)
	K           int     `yaml:"k"`           // the best-ranked of them evaluated each round (10)
	Ensemble    int     `yaml:"ensemble"`    // MLPs in the ensemble (3)
	Epochs      int     `yaml:"epochs"`      // Adam steps per fit (200)
	Hidden      []int   `yaml:"hidden"`      // hidden widths ([32, 32])
	LearnRate   float64 `yaml:"lr"`          // Adam's learning rate (0.01)
	Acquisition string  `yaml:"acquisition"` // its (default), ucb or mean
	Beta        float64 `yaml:"beta"`        // ucb: mean + beta * spread (1)
	// ZeroCost adds data-free zero-cost proxies (synflow, params, live_params,
	// flops) to the encoding as features (see features), and, with WarmPool, ranks
	// the warm start's archs and the fresh candidates by them.
	ZeroCost []string `yaml:"zero_cost"`
	// WarmPool, when set, makes the Initial archs the best of this many random ones
	// by their zero-cost scores (the mean of their ranks under ZeroCost): no query is
	// spent choosing them, and the scores of the pool fix each feature's scale. 0:
	// the Initial archs are random draws.
	WarmPool int `yaml:"warm_pool"`
	// Parents, when set, searches the predictor's optimum around what was found
	// (as BANANAS and NASLib do): each round's candidates are every neighbour of the
	// Parents best archs evaluated, then Steps times every neighbour of the Parents
	// best candidates by the acquisition, besides the fresh draws (the better half of
	// Candidates random archs by zero-cost rank, with ZeroCost). 0: half mutations of
	// the ten best, half fresh, Candidates in all.
	Parents int `yaml:"parents"`
	Steps   int `yaml:"steps"`
}

// DefaultPredictor are the defaults. Each round picks K = 5, to refit after every
// few results (a fit costs a few milliseconds at these sizes); the warm start and
// the features use the data-free proxies that rank NB201 best without data
// (synflow; live_params, which counts only what reaches the output), and the
// acquisition searches two steps around the five best archs found.
var DefaultPredictor = PredictorOptions{Initial: 10, Candidates: 100, K: 5, Ensemble: 3, Epochs: 200, Hidden: []int{32, 32}, LearnRate: 0.01,
	Acquisition: "its", Beta: 1, ZeroCost: []string{"synflow", "live_params"}, WarmPool: 1000, Parents: 5, Steps: 2}

// LegacyPredictor are the defaults of experiments made before the current ones
// (engine.Config.Defaults 0), after BANANAS (White et al. 2021) scaled to a small
// budget: random initial archs, candidates half mutations of the best, no features
// but the encoding.
var LegacyPredictor = PredictorOptions{Initial: 10, Candidates: 100, K: 10, Ensemble: 3, Epochs: 200, Hidden: []int{32, 32}, LearnRate: 0.01, Acquisition: "its", Beta: 1}

func init() {
	DefineLegacy("predictor", "an ensemble of MLPs predicts each candidate; the best predicted are evaluated", DefaultPredictor, LegacyPredictor,
		func(o PredictorOptions, space spaces.Space, seed uint64) (Strategy, error) {
			return NewPredictor(space, seed, o)
		})
}

// Predictor is predictor-guided search in the manner of BANANAS: after Initial random
// archs, each round fits an ensemble of MLPs to every result so far (on Space.Encode),
// draws Candidates archs (half mutations of the ten best found, half fresh), scores
// each by an acquisition over the ensemble's mean and spread, and evaluates the best
// K. Acquisitions: "its" (independent Thompson sampling: a draw from a normal with the
// ensemble's mean and spread), "ucb" (mean + Beta * spread), "mean".
type Predictor struct {
	space  spaces.Space
	opt    PredictorOptions
	seed   uint64
	rand   seeded
	told   []member        // every result, in trial order (failed: score -Inf)
	queue  []Candidate     // chosen by the last round, not yet asked
	seen   map[string]bool // every arch asked, so none is asked twice
	rounds int             // rounds so far; seeds each round's ensemble
	asked  int             // candidates handed out
	// scale standardises each zero-cost feature: its mean and standard deviation over
	// the warm pool (nil without one: a fixed map, see features).
	scale [][2]float64
}

// NewPredictor checks the options, taken as they are: a caller wanting the
// defaults starts from DefaultPredictor, as the config does.
func NewPredictor(space spaces.Space, seed uint64, opt PredictorOptions) (*Predictor, error) {
	switch {
	case opt.Initial < 2:
		return nil, fmt.Errorf("predictor: initial %d: at least 2 results are needed to fit a model", opt.Initial)
	case opt.K < 1 || opt.Candidates < opt.K || opt.Candidates > maxPopulation:
		return nil, fmt.Errorf("predictor: k %d and candidates %d: need 1 <= k <= candidates <= %d", opt.K, opt.Candidates, maxPopulation)
	case opt.Ensemble < 1 || opt.Ensemble > 100 || opt.Epochs < 1:
		return nil, fmt.Errorf("predictor: ensemble %d (1 to 100) and epochs %d (at least 1)", opt.Ensemble, opt.Epochs)
	case !(opt.LearnRate > 0) || opt.Beta < 0:
		return nil, fmt.Errorf("predictor: lr %g must be above 0, beta %g not negative", opt.LearnRate, opt.Beta)
	case !slices.Contains([]string{"its", "ucb", "mean"}, opt.Acquisition):
		return nil, fmt.Errorf("predictor: acquisition %q: its, ucb or mean", opt.Acquisition)
	case opt.WarmPool < 0 || opt.WarmPool > 100_000 || opt.WarmPool > 0 && opt.WarmPool < opt.Initial:
		return nil, fmt.Errorf("predictor: warm_pool %d: 0 (random initial archs), or from initial (%d) to 100000", opt.WarmPool, opt.Initial)
	case opt.WarmPool > 0 && len(opt.ZeroCost) == 0:
		return nil, fmt.Errorf("predictor: warm_pool %d ranks archs by zero_cost proxies; give some (e.g. zero_cost: [synflow, live_params])", opt.WarmPool)
	case opt.Parents < 0 || opt.Parents > 100 || opt.Steps < 0 || opt.Steps > 10:
		return nil, fmt.Errorf("predictor: parents %d (0 to 100) and steps %d (0 to 10)", opt.Parents, opt.Steps)
	}
	for _, p := range opt.ZeroCost {
		w := DefaultWarmStart
		w.Proxy = p
		if err := w.check(); err != nil {
			return nil, fmt.Errorf("predictor: zero_cost: %w", err)
		}
	}
	for _, h := range opt.Hidden {
		if h < 1 || h > 4096 {
			return nil, fmt.Errorf("predictor: hidden width %d: from 1 to 4096", h)
		}
	}
	return &Predictor{space: space, opt: opt, seed: seed, rand: newSeeded(seed), seen: map[string]bool{}}, nil
}

func (s *Predictor) Name() string { return "predictor" }

func (s *Predictor) Ask(n int) []Candidate {
	out := make([]Candidate, 0, n)
	for len(out) < n {
		if s.asked == 0 && len(s.queue) == 0 && s.opt.WarmPool > 0 {
			s.warmStart()
		}
		if len(s.queue) == 0 && s.asked >= s.opt.Initial && s.scored() >= 2 {
			s.round()
		}
		var c Candidate
		if len(s.queue) > 0 {
			c, s.queue = s.queue[0], s.queue[1:]
		} else {
			c = Candidate{Arch: s.fresh()}
		}
		s.seen[s.key(c.Arch)] = true
		out = append(out, c)
		s.asked++
	}
	return out
}

// scored counts the results with a score to learn from.
func (s *Predictor) scored() int {
	n := 0
	for _, m := range s.told {
		if !math.IsInf(m.Score, -1) {
			n++
		}
	}
	return n
}

// fresh draws a random arch not asked before (after many tries, any).
func (s *Predictor) fresh() spaces.Arch {
	for range 100 {
		a := s.space.Sample(s.rand.rng)
		if !s.seen[s.key(a)] {
			return a
		}
	}
	return s.space.Sample(s.rand.rng)
}

func (s *Predictor) Tell(results []Result) {
	for _, r := range results {
		s.told = append(s.told, member{Trial: r.Trial, Arch: r.Arch, Score: fitness(r)})
		s.seen[s.key(r.Arch)] = true // injected archs too
	}
}

// features is an arch's encoding, followed by its zero-cost scores when configured.
// synflow (a log) and the sizes (spanning orders of magnitude, so taken as logs) are
// brought to a scale near the one-hot encoding's by a fixed affine map per proxy, so
// that a feature means the same in every round.
func (s *Predictor) features(a spaces.Arch) []float64 {
	x := s.space.Encode(a)
	for _, p := range s.opt.ZeroCost {
		v, err := proxies.DataFree(s.space, p, a)
		switch {
		case err != nil || v == proxies.NoSignal:
			v = 0
		case s.scale != nil:
			v = s.standard(p, v)
			x = append(x, v)
			continue
		case p == "synflow":
			v /= 100
		default:
			v = math.Log1p(math.Max(v, 0)) / 20
		}
		x = append(x, v)
	}
	return x
}

// round fits the ensemble, ranks fresh candidates and queues the best K.
func (s *Predictor) round() {
	var xs [][]float64
	var ys []float64
	var best []member
	for _, m := range s.told {
		if !math.IsInf(m.Score, -1) {
			xs, ys = append(xs, s.features(m.Arch)), append(ys, m.Score)
			best = append(best, m)
		}
	}
	sort.SliceStable(best, func(i, j int) bool { return best[i].Score > best[j].Score })
	best = best[:min(10, len(best))]
	if s.opt.Parents > 0 {
		s.localRound(xs, ys, best)
		return
	}
	// Candidates: half mutations of the best, half fresh, none asked before.
	var pool []Candidate
	inPool := map[string]bool{}
	for tries := 0; len(pool) < s.opt.Candidates && tries < 20*s.opt.Candidates; tries++ {
		var c Candidate
		if tries%2 == 0 {
			p := best[s.rand.rng.IntN(len(best))]
			c = Candidate{Arch: s.space.Mutate(p.Arch, s.rand.rng), Parent: p.Trial}
		} else {
			c = Candidate{Arch: s.space.Sample(s.rand.rng)}
		}
		if k := c.Arch.String(); !s.seen[k] && !inPool[k] {
			inPool[k] = true
			pool = append(pool, c)
		}
	}
	s.rounds++
	if len(pool) == 0 {
		return // the space is used up around the best: Ask falls back to fresh draws
	}
	feats := make([][]float64, len(pool))
	for i, c := range pool {
		feats[i] = s.features(c.Arch)
	}
	ens, err := proxies.FitEnsemble(xs, ys, proxies.EnsembleOptions{Members: s.opt.Ensemble, Hidden: s.opt.Hidden, Epochs: s.opt.Epochs, LearnRate: s.opt.LearnRate}, s.seed*1_000_003+uint64(s.rounds)*101)
	if err != nil {
		return // scores the MLPs cannot take (none: they are finite); Ask falls back to fresh draws
	}
	mean, spread := ens.Predict(feats)
	acq := make([]float64, len(pool))
	for i := range pool {
		switch s.opt.Acquisition {
		case "its":
			acq[i] = mean[i] + spread[i]*s.rand.rng.NormFloat64()
		case "ucb":
			acq[i] = mean[i] + s.opt.Beta*spread[i]
		default:
			acq[i] = mean[i]
		}
	}
	order := ordered(acq, true)
	for _, i := range order[:min(s.opt.K, len(order))] {
		s.queue = append(s.queue, pool[i])
	}
}

type predictorState struct {
	Seed   uint64          `json:"seed"`
	RNG    []byte          `json:"rng"`
	Told   []memberJSON    `json:"told"`
	Queue  []candidateJSON `json:"queue"`
	Seen   []string        `json:"seen"`
	Rounds int             `json:"rounds"`
	Asked  int             `json:"asked"`
	Scale  [][2]float64    `json:"scale,omitempty"`
}

func (s *Predictor) State() ([]byte, error) {
	seen := make([]string, 0, len(s.seen))
	for k := range s.seen {
		seen = append(seen, k)
	}
	sort.Strings(seen)
	return json.Marshal(predictorState{Seed: s.seed, RNG: s.rand.marshal(), Told: membersToJSON(s.told), Queue: candidatesToJSON(s.queue), Seen: seen, Rounds: s.rounds, Asked: s.asked, Scale: s.scale})
}

func (s *Predictor) Restore(state []byte) error {
	var st predictorState
	if err := restoreJSON("predictor", state, &st); err != nil {
		return err
	}
	told, err := membersFromJSON(s.space, st.Told)
	if err != nil {
		return fmt.Errorf("predictor snapshot: %w", err)
	}
	queue, err := candidatesFromJSON(s.space, st.Queue)
	if err != nil {
		return fmt.Errorf("predictor snapshot: %w", err)
	}
	if err := s.rand.unmarshal(st.RNG); err != nil {
		return fmt.Errorf("predictor snapshot: %w", err)
	}
	s.seed, s.told, s.queue, s.rounds, s.asked, s.scale = st.Seed, told, queue, st.Rounds, st.Asked, st.Scale
	s.seen = map[string]bool{}
	for _, k := range st.Seen {
		s.seen[k] = true
	}
	return nil
}
