// Package strategies holds the search strategies. Each is ask/tell: the engine asks
// for candidates, evaluates them and tells the results back in trial order. A strategy
// spawns no goroutines and is not safe for concurrent use: the engine owns it.
package strategies

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"cellar/spaces"
)

// Candidate is an architecture a strategy wants evaluated.
type Candidate struct {
	Arch   spaces.Arch
	Parent uint64 // the trial it was derived from; 0 when it was drawn fresh
}

// Result is a finished trial as a strategy sees it.
type Result struct {
	Trial uint64
	Arch  spaces.Arch
	Score float64 // the primary objective, oriented so that higher is better
	// Scores are every objective, oriented alike (Scores[0] == Score); nil when the
	// trial failed or lacks one of them.
	Scores   []float64
	Failed   bool // the evaluation failed; Score means nothing
	Injected bool // a hand-made trial the strategy did not ask for; it learns from it all the same
}

// Strategy is a search strategy.
type Strategy interface {
	Name() string
	// Ask returns up to n candidates. Fewer (even none) means the strategy waits for
	// results of trials it already asked for, as a generational one does at the end
	// of a generation.
	Ask(n int) []Candidate
	// Tell reports finished trials, in trial order.
	Tell(results []Result)
	// State serialises everything needed to continue exactly where the strategy is;
	// Restore on a strategy built with the same space and options resumes it.
	State() ([]byte, error)
	Restore(state []byte) error
}

// MultiObjective is a strategy that ranks by every objective (NSGA-II): the engine
// tells it which way each objective is better before the search starts. A strategy
// without it ranks by Result.Score alone.
type MultiObjective interface {
	Strategy
	// SetObjectives takes each objective's direction (true: maximised), in the order
	// of Result.Scores.
	SetObjectives(maximise []bool) error
}

// Populated is a strategy that keeps a population (evolution, regularized
// evolution, NSGA-II): the TUI shows it. The results are the members, oldest first.
type Populated interface {
	Strategy
	Population() []Result
}

// maxPopulation bounds population sizes, so a typo in a config cannot ask for a
// billion members.
const maxPopulation = 100000

// seeded is a random source whose state can be saved and restored exactly.
// mutate applies n of the space's mutations to a, one after another.
func mutate(space spaces.Space, a spaces.Arch, n int, r seeded) spaces.Arch {
	for range n {
		a = space.Mutate(a, r.rng)
	}
	return a
}

type seeded struct {
	pcg *rand.PCG
	rng *rand.Rand
}

func newSeeded(seed uint64) seeded {
	// The second PCG word only separates streams; any fixed value will do.
	pcg := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
	return seeded{pcg: pcg, rng: rand.New(pcg)}
}

func (s seeded) marshal() []byte {
	b, err := s.pcg.MarshalBinary()
	if err != nil {
		panic("strategies: PCG state cannot be marshalled: " + err.Error()) // never: PCG's marshal has no error path
	}
	return b
}

func (s seeded) unmarshal(b []byte) error {
	if err := s.pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("random state: %w", err)
	}
	return nil
}

// member is an evaluated architecture held by a population-based strategy.
type member struct {
	Trial uint64
	Arch  spaces.Arch
	Score float64
}

// memberJSON is a member in a snapshot: the arch as its canonical string.
type memberJSON struct {
	Trial uint64  `json:"trial"`
	Arch  string  `json:"arch"`
	Score float64 `json:"score"`
}

func membersToJSON(ms []member) []memberJSON {
	out := make([]memberJSON, len(ms))
	for i, m := range ms {
		out[i] = memberJSON{Trial: m.Trial, Arch: m.Arch.String(), Score: scoreOut(m.Score)}
	}
	return out
}

func membersFromJSON(space spaces.Space, js []memberJSON) ([]member, error) {
	out := make([]member, len(js))
	for i, j := range js {
		a, err := space.Parse([]byte(j.Arch))
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		out[i] = member{Trial: j.Trial, Arch: a, Score: scoreIn(j.Score)}
	}
	return out, nil
}

// JSON has no infinities: failed members (score -Inf) are stored as the most
// negative float and read back as -Inf.
func scoreOut(s float64) float64 {
	if math.IsInf(s, -1) {
		return -math.MaxFloat64
	}
	return s
}

func scoreIn(s float64) float64 {
	if s == -math.MaxFloat64 {
		return math.Inf(-1)
	}
	return s
}

// fitness is a result's score for selection: a failed trial ranks below everything.
func fitness(r Result) float64 {
	if r.Failed || math.IsNaN(r.Score) {
		return math.Inf(-1)
	}
	return r.Score
}

// candidateJSON is a not-yet-asked candidate in a snapshot.
type candidateJSON struct {
	Arch   string `json:"arch"`
	Parent uint64 `json:"parent,omitempty"`
}

func candidatesToJSON(cs []Candidate) []candidateJSON {
	out := make([]candidateJSON, len(cs))
	for i, c := range cs {
		out[i] = candidateJSON{Arch: c.Arch.String(), Parent: c.Parent}
	}
	return out
}

func candidatesFromJSON(space spaces.Space, js []candidateJSON) ([]Candidate, error) {
	out := make([]Candidate, len(js))
	for i, j := range js {
		a, err := space.Parse([]byte(j.Arch))
		if err != nil {
			return nil, fmt.Errorf("candidate %d: %w", i, err)
		}
		out[i] = Candidate{Arch: a, Parent: j.Parent}
	}
	return out, nil
}

// restoreJSON decodes a snapshot, naming the strategy in errors.
func restoreJSON(name string, state []byte, v any) error {
	if err := json.Unmarshal(state, v); err != nil {
		return fmt.Errorf("%s snapshot: %w", name, err)
	}
	return nil
}
