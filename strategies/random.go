package strategies

import (
	"encoding/json"

	"cellar/spaces"
)

// Random samples the space uniformly: the baseline every other strategy must beat.
type Random struct {
	space spaces.Space
	rand  seeded
}

func init() {
	Define("random", "archs drawn uniformly at random: the baseline", struct{}{}, func(_ struct{}, space spaces.Space, seed uint64) (Strategy, error) {
		return NewRandom(space, seed), nil
	})
}

// NewRandom returns random search over space, seeded.
func NewRandom(space spaces.Space, seed uint64) *Random {
	return &Random{space: space, rand: newSeeded(seed)}
}

func (s *Random) Name() string { return "random" }

func (s *Random) Ask(n int) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		out[i] = Candidate{Arch: s.space.Sample(s.rand.rng)}
	}
	return out
}

func (s *Random) Tell([]Result) {}

type randomState struct {
	RNG []byte `json:"rng"`
}

func (s *Random) State() ([]byte, error) {
	return json.Marshal(randomState{RNG: s.rand.marshal()})
}

func (s *Random) Restore(state []byte) error {
	var st randomState
	if err := restoreJSON("random", state, &st); err != nil {
		return err
	}
	return s.rand.unmarshal(st.RNG)
}
