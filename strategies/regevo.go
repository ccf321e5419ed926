package strategies

import (
	"encoding/json"
	"fmt"

	"cellar/spaces"
)

// RegEvoOptions configure regularized evolution.
type RegEvoOptions struct {
	Population int `yaml:"population"` // archs kept alive (30)
	Sample     int `yaml:"sample"`     // tournament size drawn from them (10)
	Mutations  int `yaml:"mutations"`  // mutations per child, the mutation rate (1)
	// WarmStart, when set, makes the first Population candidates the best of a
	// proxy-ranked random sample instead of random archs.
	WarmStart *WarmStart `yaml:"warm_start"`
}

// DefaultRegEvo are NASLib's settings for NAS-Bench-201.
var DefaultRegEvo = RegEvoOptions{Population: 30, Sample: 10, Mutations: 1}

func init() {
	Register("regevo", "regularized evolution (aging): the oldest member leaves, a sample's best is mutated", DefaultRegEvo, Factory{
		New: func(c spaces.Component, space spaces.Space, seed uint64) (Strategy, error) {
			opt := DefaultRegEvo
			if err := spaces.DecodeOptional(c, &opt, &opt.WarmStart, DefaultWarmStart, "warm_start"); err != nil {
				return nil, err
			}
			return NewRegEvo(space, seed, opt)
		}})
}

// RegEvo is regularized (aging) evolution (Real et al. 2019): the first Population
// candidates are random; afterwards each candidate is a mutation of the best of Sample
// members drawn at random, and every new result pushes out the oldest member, not the
// worst.
type RegEvo struct {
	space spaces.Space
	opt   RegEvoOptions
	rand  seeded
	pop   []member // oldest first
	asked int      // candidates handed out so far
	warm  []spaces.Arch
	// warmed says the warm-start pick was made (warm holds what is left of it).
	warmed bool
}

// NewRegEvo checks the options and returns the strategy.
func NewRegEvo(space spaces.Space, seed uint64, opt RegEvoOptions) (*RegEvo, error) {
	if opt.Population > maxPopulation {
		return nil, fmt.Errorf("regevo: population %d is over the limit of %d", opt.Population, maxPopulation)
	}
	if opt.Population < 1 || opt.Sample < 1 || opt.Sample > opt.Population {
		return nil, fmt.Errorf("regevo: population %d and sample %d: need 1 <= sample <= population", opt.Population, opt.Sample)
	}
	if opt.Mutations < 1 || opt.Mutations > 20 {
		return nil, fmt.Errorf("regevo: mutations %d must be from 1 to 20", opt.Mutations)
	}
	if opt.WarmStart != nil {
		if err := opt.WarmStart.check(); err != nil {
			return nil, fmt.Errorf("regevo: %w", err)
		}
	}
	return &RegEvo{space: space, opt: opt, rand: newSeeded(seed)}, nil
}

// Options are the options the strategy runs with (a config's, defaults filled in).
func (s *RegEvo) Options() RegEvoOptions { return s.opt }

func (s *RegEvo) Name() string { return "regevo" }

func (s *RegEvo) Ask(n int) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		// Until a population exists, and for its first Population members, draw fresh.
		if s.asked < s.opt.Population || len(s.pop) == 0 {
			out[i] = Candidate{Arch: s.first()}
		} else {
			p := s.tournament()
			out[i] = Candidate{Arch: mutate(s.space, p.Arch, s.opt.Mutations, s.rand), Parent: p.Trial}
		}
		s.asked++
	}
	return out
}

// first is one of the first Population candidates: a random arch, or with a warm
// start the next of the proxy's picks.
func (s *RegEvo) first() spaces.Arch {
	if w := s.opt.WarmStart; w != nil && !s.warmed {
		s.warmed = true
		picks, err := warmPick(s.space, *w, s.opt.Population, s.rand)
		if err == nil {
			s.warm = picks
		}
	}
	if len(s.warm) > 0 {
		a := s.warm[0]
		s.warm = s.warm[1:]
		return a
	}
	return s.space.Sample(s.rand.rng)
}

// tournament draws Sample members with replacement and returns the best (the earliest
// on ties, so the choice depends on the random draws only).
func (s *RegEvo) tournament() member {
	best := s.pop[s.rand.rng.IntN(len(s.pop))]
	for i := 1; i < s.opt.Sample; i++ {
		m := s.pop[s.rand.rng.IntN(len(s.pop))]
		if m.Score > best.Score {
			best = m
		}
	}
	return best
}

func (s *RegEvo) Tell(results []Result) {
	for _, r := range results {
		if r.Failed {
			continue // a failed arch is never a parent, and ages nothing out
		}
		s.pop = append(s.pop, member{Trial: r.Trial, Arch: r.Arch, Score: fitness(r)})
		for len(s.pop) > s.opt.Population { // more than one when steering shrank it
			s.pop = s.pop[1:]
		}
	}
}

// Population returns the living members, oldest first, for display.
func (s *RegEvo) Population() []Result { return membersAsResults(s.pop) }

type regevoState struct {
	RNG    []byte       `json:"rng"`
	Pop    []memberJSON `json:"population"`
	Asked  int          `json:"asked"`
	Warm   []string     `json:"warm,omitempty"`
	Warmed bool         `json:"warmed,omitempty"`
}

func (s *RegEvo) State() ([]byte, error) {
	warm := make([]string, len(s.warm))
	for i, a := range s.warm {
		warm[i] = a.String()
	}
	return json.Marshal(regevoState{RNG: s.rand.marshal(), Pop: membersToJSON(s.pop), Asked: s.asked, Warm: warm, Warmed: s.warmed})
}

func (s *RegEvo) Restore(state []byte) error {
	var st regevoState
	if err := restoreJSON("regevo", state, &st); err != nil {
		return err
	}
	pop, err := membersFromJSON(s.space, st.Pop)
	if err != nil {
		return fmt.Errorf("regevo snapshot: %w", err)
	}
	if err := s.rand.unmarshal(st.RNG); err != nil {
		return fmt.Errorf("regevo snapshot: %w", err)
	}
	s.warm = nil
	for i, w := range st.Warm {
		a, err := s.space.Parse([]byte(w))
		if err != nil {
			return fmt.Errorf("regevo snapshot: warm-start arch %d: %w", i, err)
		}
		s.warm = append(s.warm, a)
	}
	s.pop, s.asked, s.warmed = pop, st.Asked, st.Warmed
	return nil
}

func membersAsResults(ms []member) []Result {
	out := make([]Result, len(ms))
	for i, m := range ms {
		out[i] = Result{Trial: m.Trial, Arch: m.Arch, Score: m.Score}
	}
	return out
}
