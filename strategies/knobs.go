package strategies

import (
	"cellar/learning"
	"fmt"
	"strings"
)

// Steerable is a strategy with knobs. SetKnob takes effect from the next Ask.
type Steerable interface {
	Knobs() []learning.Knob
	SetKnob(name string, v float64) error
	// CheckKnob says whether SetKnob would take v now, changing nothing.
	CheckKnob(name string, v float64) error
}

// knob is a Knob bound to the option it sets; check, when set, tests a new value
// against the strategy's other options.
type knob struct {
	learning.Knob
	set   func(float64)
	check func(float64) error
}

func intKnob(name, help string, p *int, lo, hi int, check func(float64) error) knob {
	return knob{Knob: learning.Knob{Name: name, Value: float64(*p), Min: float64(lo), Max: float64(hi), Integer: true, Help: help},
		set: func(v float64) { *p = int(v) }, check: check}
}

func floatKnob(name, help string, p *float64, lo, hi float64) knob {
	return knob{Knob: learning.Knob{Name: name, Value: *p, Min: lo, Max: hi, Help: help}, set: func(v float64) { *p = v }}
}

func knobsOf(ks []knob) []learning.Knob {
	out := make([]learning.Knob, len(ks))
	for i, k := range ks {
		out[i] = k.Knob
	}
	return out
}

// setKnob checks v against the knob's range and the strategy's own rule, and sets it.
func setKnob(strategy string, ks []knob, name string, v float64) error {
	return knobAt(strategy, ks, name, v, true)
}

// checkKnob is setKnob without the setting.
func checkKnob(strategy string, ks []knob, name string, v float64) error {
	return knobAt(strategy, ks, name, v, false)
}

func knobAt(strategy string, ks []knob, name string, v float64, set bool) error {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.Name
		if k.Name != name {
			continue
		}
		if err := k.Check(v); err != nil {
			return fmt.Errorf("%s: %w", strategy, err)
		}
		if k.check != nil {
			if err := k.check(v); err != nil {
				return fmt.Errorf("%s: %w", strategy, err)
			}
		}
		if set {
			k.set(v)
		}
		return nil
	}
	return fmt.Errorf("%s has no knob %q (it has: %s)", strategy, name, strings.Join(names, ", "))
}

func (s *RegEvo) knobs() []knob {
	return []knob{
		intKnob("population", "members kept alive; shrinking ages out the oldest at once", &s.opt.Population, 1, maxPopulation, func(v float64) error {
			if int(v) < s.opt.Sample {
				return fmt.Errorf("population %v is below the sample %d", v, s.opt.Sample)
			}
			return nil
		}),
		intKnob("sample", "tournament size: members drawn to pick each parent", &s.opt.Sample, 1, maxPopulation, func(v float64) error {
			if int(v) > s.opt.Population {
				return fmt.Errorf("sample %v is over the population %d", v, s.opt.Population)
			}
			return nil
		}),
		intKnob("mutations", "mutations applied to the parent per child (the mutation rate)", &s.opt.Mutations, 1, 20, nil),
	}
}

func (s *RegEvo) Knobs() []learning.Knob               { return knobsOf(s.knobs()) }
func (s *RegEvo) SetKnob(name string, v float64) error { return setKnob("regevo", s.knobs(), name, v) }
func (s *RegEvo) CheckKnob(name string, v float64) error {
	return checkKnob("regevo", s.knobs(), name, v)
}

func (s *Evolution) knobs() []knob {
	return []knob{
		intKnob("population", "members per generation, from the next generation", &s.opt.Population, 2, maxPopulation, func(v float64) error {
			if int(v) < s.opt.Tournament || int(v) <= s.opt.Elite {
				return fmt.Errorf("population %v must be at least the tournament %d and above the elite %d", v, s.opt.Tournament, s.opt.Elite)
			}
			return nil
		}),
		intKnob("tournament", "members drawn per selection", &s.opt.Tournament, 1, maxPopulation, func(v float64) error {
			if int(v) > s.opt.Population {
				return fmt.Errorf("tournament %v is over the population %d", v, s.opt.Population)
			}
			return nil
		}),
		intKnob("mutations", "mutations applied to the parent per child (the mutation rate)", &s.opt.Mutations, 1, 20, nil),
	}
}

func (s *Evolution) Knobs() []learning.Knob { return knobsOf(s.knobs()) }
func (s *Evolution) SetKnob(name string, v float64) error {
	return setKnob("evolution", s.knobs(), name, v)
}
func (s *Evolution) CheckKnob(name string, v float64) error {
	return checkKnob("evolution", s.knobs(), name, v)
}

func (s *Reinforce) knobs() []knob {
	return []knob{
		floatKnob("entropy", "weight of the entropy bonus: exploration", &s.opt.Entropy, 0, 100),
		floatKnob("lr", "the controller's learning rate", &s.opt.LearnRate, 1e-6, 1),
	}
}

func (s *Reinforce) Knobs() []learning.Knob { return knobsOf(s.knobs()) }
func (s *Reinforce) SetKnob(name string, v float64) error {
	return setKnob("reinforce", s.knobs(), name, v)
}
func (s *Reinforce) CheckKnob(name string, v float64) error {
	return checkKnob("reinforce", s.knobs(), name, v)
}

func (s *Predictor) knobs() []knob {
	return []knob{
		intKnob("k", "top-k: the best-ranked candidates evaluated each round", &s.opt.K, 1, maxPopulation, func(v float64) error {
			if int(v) > s.opt.Candidates {
				return fmt.Errorf("k %v is over the candidates %d", v, s.opt.Candidates)
			}
			return nil
		}),
		floatKnob("beta", "ucb's exploration: mean + beta x spread", &s.opt.Beta, 0, 100),
	}
}

func (s *Predictor) Knobs() []learning.Knob { return knobsOf(s.knobs()) }
func (s *Predictor) SetKnob(name string, v float64) error {
	return setKnob("predictor", s.knobs(), name, v)
}
func (s *Predictor) CheckKnob(name string, v float64) error {
	return checkKnob("predictor", s.knobs(), name, v)
}
