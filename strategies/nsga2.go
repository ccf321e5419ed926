package strategies

import (
	"cellar/learning"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"cellar/pareto"
	"cellar/spaces"
)

// NSGA2Options configure NSGA-II.
type NSGA2Options struct {
	Population int `yaml:"population"` // parents kept and offspring bred per generation (50)
	// Reference is the hypervolume's reference point, one value per objective in the
	// objective's own units, worse than any point of interest (e.g. [0, 2e6] for
	// accuracy up, params down). Without it, the worst value of each objective in the
	// first generation.
	Reference []float64 `yaml:"reference"`
}

// DefaultNSGA2 are the defaults.
var DefaultNSGA2 = NSGA2Options{Population: 50}

func init() {
	Define("nsga2", "NSGA-II: non-dominated sorting and crowding distance over every objective", DefaultNSGA2,
		func(o NSGA2Options, space spaces.Space, seed uint64) (Strategy, error) {
			return NewNSGA2(space, seed, o)
		})
}

// NSGA2 is multi-objective evolution (Deb et al. 2002): each generation breeds
// Population offspring by binary tournament (lower front first, then larger crowding
// distance) and mutation, then keeps the best Population of parents and offspring
// together, front by front, the last front cut by crowding distance. It reports the
// hypervolume of the parents' first front after each generation. All objectives count;
// failed trials rank below everything.
type NSGA2 struct {
	space   spaces.Space
	opt     NSGA2Options
	rand    seeded
	ref     []float64 // oriented (higher is better); nil until known
	gen     int
	parents []scored
	done    []scored // this generation's evaluated offspring
	pending []Candidate
	out     int
	reports []learning.Report
}

// scored is an evaluated arch with every objective, oriented higher-better.
type scored struct {
	Trial  uint64    `json:"trial"`
	Arch   string    `json:"arch"`
	Scores []float64 `json:"scores"`
	arch   spaces.Arch
}

// NewNSGA2 checks the options and returns the strategy. Its objectives' directions
// come from SetObjectives before the search starts.
func NewNSGA2(space spaces.Space, seed uint64, opt NSGA2Options) (*NSGA2, error) {
	if opt.Population < 2 || opt.Population > maxPopulation {
		return nil, fmt.Errorf("nsga2: population %d must be from 2 to %d", opt.Population, maxPopulation)
	}
	s := &NSGA2{space: space, opt: opt, rand: newSeeded(seed)}
	for i := 0; i < opt.Population; i++ {
		s.pending = append(s.pending, Candidate{Arch: space.Sample(s.rand.rng)})
	}
	return s, nil
}

func (s *NSGA2) Name() string { return "nsga2" }

// SetObjectives takes the objectives' directions (true: maximised), in which the
// reference point is given.
func (s *NSGA2) SetObjectives(maximise []bool) error {
	if len(s.opt.Reference) == 0 {
		return nil
	}
	if len(s.opt.Reference) != len(maximise) {
		return fmt.Errorf("nsga2: reference has %d values for %d objectives", len(s.opt.Reference), len(maximise))
	}
	s.ref = make([]float64, len(maximise))
	for i, v := range s.opt.Reference {
		s.ref[i] = orient(v, maximise[i])
	}
	return nil
}

func orient(v float64, maximise bool) float64 {
	if maximise {
		return v
	}
	return -v
}

func (s *NSGA2) Ask(n int) []Candidate {
	n = min(n, len(s.pending))
	out := append([]Candidate(nil), s.pending[:n]...)
	s.pending = s.pending[n:]
	s.out += n
	return out
}

func (s *NSGA2) Tell(results []Result) {
	for _, r := range results {
		if !r.Injected {
			s.out--
		}
		sc := r.Scores
		if len(sc) == 0 {
			sc = []float64{r.Score} // one objective
		}
		if r.Failed {
			sc = nil // ranked below everything; see points
		}
		s.done = append(s.done, scored{Trial: r.Trial, Arch: r.Arch.String(), Scores: sc, arch: r.Arch})
	}
	if s.out == 0 && len(s.pending) == 0 {
		s.nextGeneration()
	}
}

// points are members' scores for sorting: a failed member is -Inf in every objective.
func points(ms []scored) [][]float64 {
	dims := 0
	for _, m := range ms {
		dims = max(dims, len(m.Scores))
	}
	pts := make([][]float64, len(ms))
	for i, m := range ms {
		pts[i] = m.Scores
		if len(m.Scores) != dims {
			pts[i] = make([]float64, dims)
			for j := range pts[i] {
				pts[i][j] = math.Inf(-1)
			}
		}
	}
	return pts
}

func allMax(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

// rankAndCrowd sorts members into fronts and gives each its front and crowding distance.
func rankAndCrowd(ms []scored) (fronts [][]int, rank []int, crowd []float64) {
	pts := points(ms)
	dims := 0
	if len(pts) > 0 {
		dims = len(pts[0])
	}
	fronts = pareto.Sort(pts, allMax(dims))
	rank, crowd = make([]int, len(ms)), make([]float64, len(ms))
	for k, f := range fronts {
		for i, d := range pareto.Crowding(pts, f) {
			rank[f[i]], crowd[f[i]] = k, d
		}
	}
	return fronts, rank, crowd
}

// nextGeneration selects the parents from parents and offspring, reports, and breeds.
func (s *NSGA2) nextGeneration() {
	pool := append(append([]scored(nil), s.parents...), s.done...)
	pts := points(pool)
	fronts := pareto.Sort(pts, allMax(len(pts[0])))
	var next []scored
	for _, f := range fronts {
		if len(next)+len(f) <= s.opt.Population {
			for _, i := range f {
				next = append(next, pool[i])
			}
			continue
		}
		// The last front that fits in part: the least crowded first.
		crowd := pareto.Crowding(pts, f)
		idx := make([]int, len(f))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return crowd[idx[a]] > crowd[idx[b]] })
		for _, i := range idx[:s.opt.Population-len(next)] {
			next = append(next, pool[f[i]])
		}
		break
	}
	s.parents, s.done = next, nil
	s.gen++
	s.report()
	_, rank, crowd := rankAndCrowd(s.parents)
	for len(s.pending) < s.opt.Population {
		p := s.parents[s.tournament(rank, crowd)]
		s.pending = append(s.pending, Candidate{Arch: s.space.Mutate(p.arch, s.rand.rng), Parent: p.Trial})
	}
}

// tournament is binary tournament selection: the lower front wins, then the larger
// crowding distance, then the first drawn.
func (s *NSGA2) tournament(rank []int, crowd []float64) int {
	a, b := s.rand.rng.IntN(len(rank)), s.rand.rng.IntN(len(rank))
	if rank[b] < rank[a] || (rank[b] == rank[a] && crowd[b] > crowd[a]) {
		return b
	}
	return a
}

// report records the generation's hypervolume and front size.
func (s *NSGA2) report() {
	pts := points(s.parents)
	if len(pts) == 0 || len(pts[0]) == 0 {
		return
	}
	dims := len(pts[0])
	if s.ref == nil { // the worst of the first generation, in every objective
		s.ref = make([]float64, dims)
		for j := range s.ref {
			s.ref[j] = math.Inf(1)
			for _, p := range pts {
				if !math.IsInf(p[j], -1) {
					s.ref[j] = math.Min(s.ref[j], p[j])
				}
			}
		}
	}
	front := pareto.Front(pts, allMax(dims))
	fp := make([][]float64, len(front))
	for i, j := range front {
		fp[i] = pts[j]
	}
	hv := pareto.Hypervolume(fp, allMax(dims), s.ref)
	// As a fraction of the box between the reference and the best value of each
	// objective on the front (cellar bench's normalisation, with the ideal point
	// seen so far): 1 is a front at that point, and it is comparable across runs.
	box := 1.0
	for j := range dims {
		best := math.Inf(-1)
		for _, p := range fp {
			best = math.Max(best, p[j])
		}
		box *= best - s.ref[j]
	}
	frac := 0.0
	if box > 0 && !math.IsInf(box, 0) {
		frac = hv / box
	}
	s.reports = learning.AppendReport(s.reports, learning.Report{Source: "nsga2", Step: s.gen, Values: map[string]float64{
		"hypervolume": hv, "hv_fraction": frac, "front": float64(len(front))}})
}

// Generation is the number of generations selected so far.
func (s *NSGA2) Generation() int { return s.gen }

// Population is the parents, for display, scored by the first objective.
func (s *NSGA2) Population() []Result {
	out := make([]Result, len(s.parents))
	for i, m := range s.parents {
		score := math.Inf(-1)
		if len(m.Scores) > 0 {
			score = m.Scores[0]
		}
		out[i] = Result{Trial: m.Trial, Arch: m.arch, Score: score, Scores: m.Scores}
	}
	return out
}

func (s *NSGA2) Reports() []learning.Report { return s.reports }

type nsga2State struct {
	RNG     []byte            `json:"rng"`
	Ref     []float64         `json:"reference,omitempty"`
	Gen     int               `json:"generation"`
	Parents []scored          `json:"parents"`
	Done    []scored          `json:"done"`
	Pending []candidateJSON   `json:"pending"`
	Out     int               `json:"outstanding"`
	Reports []learning.Report `json:"reports,omitempty"`
}

func (s *NSGA2) State() ([]byte, error) {
	return json.Marshal(nsga2State{RNG: s.rand.marshal(), Ref: s.ref, Gen: s.gen, Parents: scoresOut(s.parents), Done: scoresOut(s.done),
		Pending: candidatesToJSON(s.pending), Out: s.out, Reports: s.reports})
}

// JSON has no infinities; failed members have no scores and need none.
func scoresOut(ms []scored) []scored {
	out := make([]scored, len(ms))
	for i, m := range ms {
		out[i] = m
		out[i].Scores = make([]float64, len(m.Scores))
		for j, v := range m.Scores {
			out[i].Scores[j] = scoreOut(v)
		}
	}
	return out
}

func (s *NSGA2) scoresIn(ms []scored) ([]scored, error) {
	for i := range ms {
		a, err := s.space.Parse([]byte(ms[i].Arch))
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		ms[i].arch = a
		for j, v := range ms[i].Scores {
			ms[i].Scores[j] = scoreIn(v)
		}
		if len(ms[i].Scores) == 0 {
			ms[i].Scores = nil
		}
	}
	return ms, nil
}

func (s *NSGA2) Restore(state []byte) error {
	var st nsga2State
	if err := restoreJSON("nsga2", state, &st); err != nil {
		return err
	}
	parents, err := s.scoresIn(st.Parents)
	if err != nil {
		return fmt.Errorf("nsga2 snapshot: parents: %w", err)
	}
	done, err := s.scoresIn(st.Done)
	if err != nil {
		return fmt.Errorf("nsga2 snapshot: offspring: %w", err)
	}
	pending, err := candidatesFromJSON(s.space, st.Pending)
	if err != nil {
		return fmt.Errorf("nsga2 snapshot: %w", err)
	}
	if err := s.rand.unmarshal(st.RNG); err != nil {
		return fmt.Errorf("nsga2 snapshot: %w", err)
	}
	s.ref, s.gen, s.parents, s.done, s.pending, s.out, s.reports = st.Ref, st.Gen, parents, done, pending, st.Out, st.Reports
	return nil
}
