package engine

import (
	"cellar/learning"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"cellar/spaces"
	"cellar/strategies"
)

// Steering changes a running search: the strategy's knobs (population, tournament
// size, mutation rate, exploration, the predictor's top-k), the constraints' limits
// and the budget. A change is checked when it is made, applied just before the next
// ask (so every trial is asked under one known setting), written to the journal as
// an audit entry (time, who, old and new value) and published as a Steered event.

// Steer is one requested change.
type Steer struct {
	Who   string
	Param string
	Value float64
}

// Steer asks for a change, applied at the next ask. It fails at once, changing
// nothing, for an unknown knob or a value out of its range.
func (e *Engine) Steer(who, param string, v float64) error {
	return e.send(command{kind: cmdSteer, steer: Steer{Who: who, Param: param, Value: v}})
}

// knobs are every setting that may be steered now, with their current values.
func (e *Engine) knobs() []learning.Knob {
	asked := float64(e.nextID - 1)
	b := e.exp.Config.Budget
	out := []learning.Knob{
		{Name: "budget.trials", Value: float64(b.Trials), Min: math.Max(asked, 1), Max: 1e9, Integer: true, Help: "trials to ask in all"},
		{Name: "budget.final", Value: float64(b.Final), Min: 0, Max: 1e9, Integer: true, Help: "trials evaluated at full fidelity (0: no limit)"},
	}
	if b.Trials == 0 {
		out[0].Help += " (0 now: no limit)"
	}
	for _, l := range e.limits() {
		out = append(out, learning.Knob{Name: "constraints." + l.Name, Value: l.Max, Min: 0, Max: math.Inf(1), Help: "upper limit on " + l.Name})
	}
	if s, ok := e.exp.Strategy.(strategies.Steerable); ok {
		out = append(out, s.Knobs()...)
	}
	return out
}

// checkSteer tests a change against the knob's range.
func (e *Engine) checkSteer(st Steer) error {
	ks := e.knobs()
	i := slices.IndexFunc(ks, func(k learning.Knob) bool { return k.Name == st.Param })
	if i < 0 {
		names := make([]string, len(ks))
		for j, k := range ks {
			names[j] = k.Name
		}
		return fmt.Errorf("no knob %q (knobs: %s)", st.Param, strings.Join(names, ", "))
	}
	k := ks[i]
	if strings.HasPrefix(k.Name, "constraints.") && st.Value <= 0 {
		return fmt.Errorf("%s must be above 0", k.Name)
	}
	if err := k.Check(st.Value); err != nil {
		return err
	}
	// The strategy's own rules (population at least the sample) against what it is
	// now: a change that cannot fit is refused when asked for, not at the next ask.
	// With other changes of the strategy waiting for that ask, it is judged when it
	// applies, after them (sample, then population).
	s, ok := e.exp.Strategy.(strategies.Steerable)
	if !ok || strings.Contains(k.Name, ".") || slices.ContainsFunc(e.steers, func(p Steer) bool { return !strings.Contains(p.Param, ".") }) {
		return nil
	}
	return s.CheckKnob(k.Name, st.Value)
}

// steerNow applies the changes waiting for the next ask.
func (e *Engine) steerNow() {
	for _, st := range e.steers {
		e.steer(st)
	}
	e.steers = nil
}

// steer applies one change, journals it as an audit entry and publishes it. A change
// valid when asked for may not be against what changed since (two changes queued
// together): it is then journalled and published as refused, and not applied.
func (e *Engine) steer(st Steer) error {
	old, err := e.applySteer(st)
	en := Entry{Op: OpSteer, Trial: e.nextID, Who: st.Who, Param: st.Param, Old: old, New: st.Value, Time: time.Now().UTC()}
	if err != nil {
		en.Op, en.Arch = OpRefused, err.Error()
	}
	e.record(en)
	return err
}

// refuse journals and publishes a change refused when it was asked for.
func (e *Engine) refuse(st Steer, err error) {
	en := Entry{Op: OpRefused, Trial: e.nextID, Who: st.Who, Param: st.Param, New: st.Value, Arch: err.Error(), Time: time.Now().UTC()}
	ks := e.knobs()
	if i := slices.IndexFunc(ks, func(k learning.Knob) bool { return k.Name == st.Param }); i >= 0 {
		en.Old = ks[i].Value
	}
	e.record(en)
}

// record journals a steering entry, applied or refused, and publishes it.
func (e *Engine) record(en Entry) {
	e.log(en)
	e.mu.Lock()
	e.status.Steers = append(e.status.Steers, en)
	e.status.Budget = e.exp.Config.Budget
	e.mu.Unlock()
	e.hub.publish(Event{Kind: Steered, Entry: &en})
	e.updateKnobs()
}

// applySteer makes one change and returns the value it replaced.
func (e *Engine) applySteer(st Steer) (float64, error) {
	v := st.Value
	var old float64
	switch {
	case st.Param == "budget.trials":
		old = float64(e.exp.Config.Budget.Trials)
		if v < float64(e.nextID-1) {
			return old, fmt.Errorf("budget.trials %v is below the %d trials already asked", v, e.nextID-1)
		}
		e.exp.Config.Budget.Trials = int(v)
	case st.Param == "budget.final":
		old = float64(e.exp.Config.Budget.Final)
		e.exp.Config.Budget.Final = int(v)
	case strings.HasPrefix(st.Param, "constraints."):
		name := strings.TrimPrefix(st.Param, "constraints.")
		limits := slices.Clone(e.limits())
		i := slices.IndexFunc(limits, func(l spaces.Limit) bool { return l.Name == name })
		if i < 0 {
			return 0, fmt.Errorf("no %s limit", name)
		}
		old = limits[i].Max
		if c, ok := e.exp.Space.(*spaces.Constrained); ok {
			if err := c.SetLimit(name, v, rand.New(rand.NewPCG(e.exp.Config.Seed, e.nextID))); err != nil {
				return old, err
			}
		}
		limits[i].Max = v
		e.mu.Lock()
		e.exp.Limits = limits
		e.mu.Unlock()
	default:
		s, ok := e.exp.Strategy.(strategies.Steerable)
		if !ok {
			return 0, fmt.Errorf("%s has no knob %s", e.exp.Strategy.Name(), st.Param)
		}
		for _, k := range s.Knobs() {
			if k.Name == st.Param {
				old = k.Value
			}
		}
		if err := s.SetKnob(st.Param, v); err != nil {
			return old, err
		}
	}
	if e.steered == nil {
		e.steered = map[string]float64{}
	}
	e.steered[st.Param] = v
	return old, nil
}

// resteer applies a checkpoint's steered values again on resume, in name order.
func (e *Engine) resteer(steered map[string]float64) error {
	for _, name := range slices.Sorted(maps.Keys(steered)) {
		if _, err := e.applySteer(Steer{Param: name, Value: steered[name]}); err != nil {
			return fmt.Errorf("resume: steered %s: %w", name, err)
		}
	}
	return nil
}

// updateKnobs publishes the knobs' current values in the status (engine goroutine).
func (e *Engine) updateKnobs() {
	ks := e.knobs()
	e.mu.Lock()
	e.status.Knobs = ks
	e.mu.Unlock()
}

// steering is the steering waiting for the next ask, and every knob's value as
// applied.
type steering struct {
	steers  []Steer // waiting for the next ask
	steered map[string]float64
}
