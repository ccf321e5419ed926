package strategies

import (
	"encoding/json"
	"fmt"
	"sort"

	"cellar/spaces"
)

// EvolutionOptions configure generational evolution.
type EvolutionOptions struct {
	Population int `yaml:"population"` // members per generation (20)
	Tournament int `yaml:"tournament"` // members drawn, without replacement, per selection (5)
	Elite      int `yaml:"elite"`      // best members carried over unevaluated (1)
	Mutations  int `yaml:"mutations"`  // mutations per child, the mutation rate (1)
}

// DefaultEvolution are the settings used when an experiment gives none.
var DefaultEvolution = EvolutionOptions{Population: 20, Tournament: 5, Elite: 1, Mutations: 1}

func init() {
	Define("evolution", "generational evolution: tournament selection, elitism, mutation", DefaultEvolution,
		func(o EvolutionOptions, space spaces.Space, seed uint64) (Strategy, error) {
			return NewEvolution(space, seed, o)
		})
}

// Evolution is the seed's generational evolution: a random first generation; each
// next generation keeps the Elite best members (not evaluated again) and fills the
// rest with mutations of tournament winners of the generation before.
type Evolution struct {
	space   spaces.Space
	opt     EvolutionOptions
	rand    seeded
	gen     int
	done    []member    // evaluated members of the current generation
	pending []Candidate // members of the current generation not yet asked for
	out     int         // asked for and not yet told
}

// NewEvolution checks the options and returns the strategy.
func NewEvolution(space spaces.Space, seed uint64, opt EvolutionOptions) (*Evolution, error) {
	if opt.Population > maxPopulation {
		return nil, fmt.Errorf("evolution: population %d is over the limit of %d", opt.Population, maxPopulation)
	}
	if opt.Population < 2 || opt.Tournament < 1 || opt.Tournament > opt.Population || opt.Elite < 0 || opt.Elite >= opt.Population {
		return nil, fmt.Errorf("evolution: population %d, tournament %d, elite %d: need population >= 2, 1 <= tournament <= population, 0 <= elite < population", opt.Population, opt.Tournament, opt.Elite)
	}
	if opt.Mutations < 1 || opt.Mutations > 20 {
		return nil, fmt.Errorf("evolution: mutations %d must be from 1 to 20", opt.Mutations)
	}
	s := &Evolution{space: space, opt: opt, rand: newSeeded(seed)}
	for i := 0; i < opt.Population; i++ {
		s.pending = append(s.pending, Candidate{Arch: space.Sample(s.rand.rng)})
	}
	return s, nil
}

func (s *Evolution) Name() string { return "evolution" }

func (s *Evolution) Ask(n int) []Candidate {
	n = min(n, len(s.pending))
	out := append([]Candidate(nil), s.pending[:n]...)
	s.pending = s.pending[n:]
	s.out += n
	return out
}

func (s *Evolution) Tell(results []Result) {
	for _, r := range results {
		if !r.Injected {
			s.out--
		}
		s.done = append(s.done, member{Trial: r.Trial, Arch: r.Arch, Score: fitness(r)})
	}
	if s.out == 0 && len(s.pending) == 0 {
		s.nextGeneration()
	}
}

// nextGeneration breeds from the finished generation.
func (s *Evolution) nextGeneration() {
	gen := s.done
	ranked := append([]member(nil), gen...)
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].Score > ranked[j].Score })
	elite := ranked[:min(s.opt.Elite, len(ranked))]
	for len(s.pending)+len(elite) < s.opt.Population {
		p := s.tournament(gen)
		s.pending = append(s.pending, Candidate{Arch: mutate(s.space, p.Arch, s.opt.Mutations, s.rand), Parent: p.Trial})
	}
	s.done = append([]member(nil), elite...)
	s.gen++
}

// tournament draws Tournament distinct members and returns the best.
func (s *Evolution) tournament(gen []member) member {
	k := min(s.opt.Tournament, len(gen))
	idx := s.rand.rng.Perm(len(gen))[:k]
	best := gen[idx[0]]
	for _, i := range idx[1:] {
		if gen[i].Score > best.Score {
			best = gen[i]
		}
	}
	return best
}

// Generation is the current generation's number, from 0.
func (s *Evolution) Generation() int { return s.gen }

// Population returns the current generation's evaluated members, for display.
func (s *Evolution) Population() []Result { return membersAsResults(s.done) }

type evolutionState struct {
	RNG     []byte          `json:"rng"`
	Gen     int             `json:"generation"`
	Done    []memberJSON    `json:"done"`
	Pending []candidateJSON `json:"pending"`
	Out     int             `json:"outstanding"`
}

func (s *Evolution) State() ([]byte, error) {
	return json.Marshal(evolutionState{RNG: s.rand.marshal(), Gen: s.gen, Done: membersToJSON(s.done), Pending: candidatesToJSON(s.pending), Out: s.out})
}

func (s *Evolution) Restore(state []byte) error {
	var st evolutionState
	if err := restoreJSON("evolution", state, &st); err != nil {
		return err
	}
	done, err := membersFromJSON(s.space, st.Done)
	if err != nil {
		return fmt.Errorf("evolution snapshot: %w", err)
	}
	pending, err := candidatesFromJSON(s.space, st.Pending)
	if err != nil {
		return fmt.Errorf("evolution snapshot: %w", err)
	}
	if err := s.rand.unmarshal(st.RNG); err != nil {
		return fmt.Errorf("evolution snapshot: %w", err)
	}
	s.gen, s.done, s.pending, s.out = st.Gen, done, pending, st.Out
	return nil
}
