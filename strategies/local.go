package strategies

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"cellar/spaces"
)

// LocalOptions configure local search.
type LocalOptions struct {
	// FirstImprovement moves to the first neighbour that beats the incumbent instead of
	// evaluating all neighbours and moving to the best.
	FirstImprovement bool `yaml:"first_improvement"`
}

// Local is hill climbing over Space.Neighbours (White et al. 2020, "Local search is
// state of the art for NAS benchmarks"): start from a random arch, evaluate its
// neighbours in random order, move to the best one while it improves, and restart from
// a random arch at a local optimum. Neighbours evaluated before are not asked again:
// their known scores count.
type Local struct {
	space spaces.Space
	opt   LocalOptions
	rand  seeded
	cur   *member // the incumbent; nil while a start point is being drawn or evaluated
	best  *member // the best neighbour of the incumbent so far
	queue []Candidate
	out   int
	seen  map[string]float64 // every evaluated arch's score
}

func init() {
	// No defaults: every option is off.
	Define("local", "local search: best improvement over every neighbour, restarts at a local optimum", LocalOptions{},
		func(o LocalOptions, space spaces.Space, seed uint64) (Strategy, error) {
			return NewLocal(space, seed, o), nil
		})
}

// NewLocal returns local search over space, seeded.
func NewLocal(space spaces.Space, seed uint64, opt LocalOptions) *Local {
	return &Local{space: space, opt: opt, rand: newSeeded(seed), seen: map[string]float64{}}
}

func (s *Local) Name() string { return "local" }

func (s *Local) Ask(n int) []Candidate {
	var out []Candidate
	for len(out) < n {
		switch {
		case len(s.queue) > 0:
			out = append(out, s.queue[0])
			s.queue = s.queue[1:]
		case s.cur == nil && s.out == 0 && len(out) == 0:
			out = append(out, Candidate{Arch: s.space.Sample(s.rand.rng)})
		default:
			s.out += len(out)
			return out // wait for the outstanding results
		}
	}
	s.out += len(out)
	return out
}

func (s *Local) Tell(results []Result) {
	for _, r := range results {
		if !r.Injected {
			s.out--
		}
		m := member{Trial: r.Trial, Arch: r.Arch, Score: fitness(r)}
		s.seen[r.Arch.String()] = m.Score
		s.consider(m)
	}
	if s.cur != nil && len(s.queue) == 0 && s.out == 0 {
		s.endSweep()
	}
}

// consider takes one evaluated arch into account.
func (s *Local) consider(m member) {
	if s.cur == nil {
		if !math.IsInf(m.Score, -1) { // a failed start point is dropped: draw another
			s.moveTo(m)
		}
		return
	}
	if s.best == nil || m.Score > s.best.Score {
		s.best = &m
	}
	if s.opt.FirstImprovement && m.Score > s.cur.Score {
		s.moveTo(m)
	}
}

// endSweep runs when every neighbour of the incumbent is in: climb or restart.
func (s *Local) endSweep() {
	if s.best != nil && s.best.Score > s.cur.Score {
		s.moveTo(*s.best)
		if len(s.queue) > 0 {
			return
		}
		// Every neighbour of the new incumbent was seen already: fall through to judge it.
		if s.best != nil && s.best.Score > s.cur.Score {
			s.endSweep()
			return
		}
	}
	s.cur, s.best, s.queue = nil, nil, nil // a local optimum: restart
}

// moveTo makes m the incumbent and queues its unseen neighbours in random order; the
// seen ones count at once with their known scores.
func (s *Local) moveTo(m member) {
	s.cur, s.best, s.queue = &m, nil, nil
	ns := s.space.Neighbours(m.Arch)
	s.rand.rng.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
	for _, a := range ns {
		if score, ok := s.seen[a.String()]; ok {
			if s.best == nil || score > s.best.Score {
				s.best = &member{Arch: a, Score: score}
			}
			continue
		}
		s.queue = append(s.queue, Candidate{Arch: a, Parent: m.Trial})
	}
}

type seenJSON struct {
	Arch  string  `json:"arch"`
	Score float64 `json:"score"`
}

type localState struct {
	RNG   []byte          `json:"rng"`
	Cur   []memberJSON    `json:"incumbent,omitempty"`
	Best  []memberJSON    `json:"best,omitempty"`
	Queue []candidateJSON `json:"queue"`
	Out   int             `json:"outstanding"`
	Seen  []seenJSON      `json:"seen"`
}

func optMember(m *member) []memberJSON {
	if m == nil {
		return nil
	}
	return membersToJSON([]member{*m})
}

func (s *Local) State() ([]byte, error) {
	st := localState{RNG: s.rand.marshal(), Cur: optMember(s.cur), Best: optMember(s.best), Queue: candidatesToJSON(s.queue), Out: s.out}
	for a, score := range s.seen {
		st.Seen = append(st.Seen, seenJSON{Arch: a, Score: scoreOut(score)})
	}
	sort.Slice(st.Seen, func(i, j int) bool { return st.Seen[i].Arch < st.Seen[j].Arch })
	return json.Marshal(st)
}

func (s *Local) Restore(state []byte) error {
	var st localState
	if err := restoreJSON("local", state, &st); err != nil {
		return err
	}
	wrap := func(err error) error { return fmt.Errorf("local snapshot: %w", err) }
	cur, err := membersFromJSON(s.space, st.Cur)
	if err != nil {
		return wrap(err)
	}
	best, err := membersFromJSON(s.space, st.Best)
	if err != nil {
		return wrap(err)
	}
	queue, err := candidatesFromJSON(s.space, st.Queue)
	if err != nil {
		return wrap(err)
	}
	if err := s.rand.unmarshal(st.RNG); err != nil {
		return wrap(err)
	}
	s.cur, s.best = nil, nil
	if len(cur) == 1 {
		s.cur = &cur[0]
	}
	if len(best) == 1 {
		s.best = &best[0]
	}
	s.queue, s.out = queue, st.Out
	s.seen = map[string]float64{}
	for _, x := range st.Seen {
		s.seen[x.Arch] = scoreIn(x.Score)
	}
	return nil
}
