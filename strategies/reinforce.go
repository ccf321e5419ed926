package strategies

import (
	"cellar/learning"
	"encoding/json"
	"fmt"
	"math"

	"cellar/nn"
	"cellar/spaces"
)

// ReinforceOptions configure the REINFORCE controller.
type ReinforceOptions struct {
	Hidden        int     `yaml:"hidden"`         // the LSTM's width (32)
	LearnRate     float64 `yaml:"lr"`             // Adam's learning rate (0.01)
	Entropy       float64 `yaml:"entropy"`        // weight of the entropy bonus (0.2, for rewards in accuracy points)
	BaselineDecay float64 `yaml:"baseline_decay"` // of the reward's moving average (0.9)
}

// DefaultReinforce are the defaults.
var DefaultReinforce = ReinforceOptions{Hidden: 32, LearnRate: 0.01, Entropy: 0.2, BaselineDecay: 0.9}

func init() {
	Define("reinforce", "REINFORCE with an LSTM controller that writes archs token by token", DefaultReinforce,
		func(o ReinforceOptions, space spaces.Space, seed uint64) (Strategy, error) {
			return NewReinforce(space, seed, o)
		})
}

// Reinforce is policy-gradient search (Zoph and Le 2017; the NB201 paper's REINFORCE
// baseline): an LSTM controller emits an arch token by token; each result is one
// REINFORCE step with its score minus a moving-average baseline as the advantage,
// plus an entropy bonus. Failed trials teach nothing. The space must have a token
// form (nb201, cell).
type Reinforce struct {
	space    spaces.Space
	tok      spaces.Tokenizer
	opt      ReinforceOptions
	rand     seeded
	ctrl     *nn.Controller
	baseline float64
	updates  int
	reports  []learning.Report
}

// NewReinforce checks the options, taken as they are (a caller wanting the defaults
// starts from DefaultReinforce, as the config does), and builds the controller.
func NewReinforce(space spaces.Space, seed uint64, opt ReinforceOptions) (*Reinforce, error) {
	tok, ok := spaces.Base(space).(spaces.Tokenizer)
	if !ok {
		return nil, fmt.Errorf("reinforce: space %s has no token form (nb201 and cell do)", space.Name())
	}
	if opt.Hidden < 1 || opt.Hidden > 4096 {
		return nil, fmt.Errorf("reinforce: hidden %d must be from 1 to 4096", opt.Hidden)
	}
	if !(opt.LearnRate > 0) || opt.Entropy < 0 || opt.BaselineDecay < 0 || opt.BaselineDecay >= 1 {
		return nil, fmt.Errorf("reinforce: lr %g must be above 0, entropy %g not negative, baseline_decay %g in [0, 1)", opt.LearnRate, opt.Entropy, opt.BaselineDecay)
	}
	ctrl, err := nn.NewController(tok.TokenSizes(), opt.Hidden, opt.LearnRate, seed)
	if err != nil {
		return nil, fmt.Errorf("reinforce: %w", err)
	}
	return &Reinforce{space: space, tok: tok, opt: opt, rand: newSeeded(seed), ctrl: ctrl}, nil
}

func (s *Reinforce) Name() string { return "reinforce" }

func (s *Reinforce) Ask(n int) []Candidate {
	out := make([]Candidate, n)
	for i := range out {
		a, err := s.tok.FromTokens(s.ctrl.Sample(s.rand.rng))
		if err != nil { // cannot happen: the controller emits in-range tokens
			a = s.space.Sample(s.rand.rng)
		}
		out[i] = Candidate{Arch: a}
	}
	return out
}

func (s *Reinforce) Tell(results []Result) {
	for _, r := range results {
		score := fitness(r)
		if math.IsInf(score, -1) {
			continue
		}
		if s.updates == 0 {
			s.baseline = score
		}
		ent, err := s.ctrl.Update(s.tok.Tokens(r.Arch), score-s.baseline, s.opt.Entropy)
		if err != nil {
			continue // an arch from elsewhere that the tokens cannot express; nothing to learn
		}
		s.baseline = s.opt.BaselineDecay*s.baseline + (1-s.opt.BaselineDecay)*score
		s.updates++
		s.reports = learning.AppendReport(s.reports, learning.Report{Source: "reinforce", Step: s.updates,
			Values: map[string]float64{"reward": score, "entropy": ent, "baseline": s.baseline}})
	}
}

// Reports are the updates: each reward, the policy's entropy and the baseline after it.
func (s *Reinforce) Reports() []learning.Report { return s.reports }

type reinforceState struct {
	RNG        []byte            `json:"rng"`
	Controller json.RawMessage   `json:"controller"`
	Baseline   float64           `json:"baseline"`
	Updates    int               `json:"updates"`
	Reports    []learning.Report `json:"reports,omitempty"`
}

func (s *Reinforce) State() ([]byte, error) {
	ctrl, err := json.Marshal(s.ctrl)
	if err != nil {
		return nil, err
	}
	return json.Marshal(reinforceState{RNG: s.rand.marshal(), Controller: ctrl, Baseline: s.baseline, Updates: s.updates, Reports: s.reports})
}

func (s *Reinforce) Restore(state []byte) error {
	var st reinforceState
	if err := restoreJSON("reinforce", state, &st); err != nil {
		return err
	}
	if err := json.Unmarshal(st.Controller, s.ctrl); err != nil {
		return fmt.Errorf("reinforce snapshot: %w", err)
	}
	if err := s.rand.unmarshal(st.RNG); err != nil {
		return fmt.Errorf("reinforce snapshot: %w", err)
	}
	s.baseline, s.updates, s.reports = st.Baseline, st.Updates, st.Reports
	return nil
}
