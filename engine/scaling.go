package engine

import (
	"fmt"

	"cellar/spaces"
	"cellar/strategies"
)

// ScalingRow is one trial of a compound scaling experiment, with what its
// coefficients make of the base network.
type ScalingRow struct {
	Trial      uint64  `json:"trial"`
	Role       string  `json:"role"`
	Alpha      float64 `json:"alpha"`
	Beta       float64 `json:"beta"`
	Gamma      float64 `json:"gamma"`
	Phi        float64 `json:"phi"`
	Depth      float64 `json:"depth"` // multipliers: alpha^phi, beta^phi, gamma^phi
	Width      float64 `json:"width"`
	Resolution float64 `json:"resolution"`
	// Effective is what the network is scaled by once rounded (channels to a multiple
	// of 4, depths up): width 1.1 of 16 channels is 16 again, x1.
	Effective spaces.Scaling     `json:"effective"`
	Input     [3]int             `json:"input"`
	FLOPs     int64              `json:"flops"`
	Params    int                `json:"params"`
	State     State              `json:"state"`
	Duplicate uint64             `json:"duplicate,omitempty"` // the trial whose network this is (dedupe)
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Error     string             `json:"error,omitempty"`
}

// ScalingRows reads the trials of a compound scaling experiment (its config source
// and last checkpoint) as its table of results: each trial's role, coefficients and
// what they make of the base network.
func ScalingRows(src []byte, trials []Trial, cp *Checkpoint) ([]ScalingRow, error) {
	cfg, err := ParseConfig(src)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	space, err := ExperimentSpace(cfg)
	if err != nil {
		return nil, fmt.Errorf("space: %w", err)
	}
	strat, err := BuildStrategy(cfg.Strategy, space, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("strategy: %w", err)
	}
	compound, ok := strat.(*strategies.Compound)
	if !ok {
		return nil, fmt.Errorf("not a compound scaling search (its strategy is %s)", cfg.Strategy.Name)
	}
	if cp != nil {
		if err := compound.Restore(cp.Strategy); err != nil {
			return nil, err
		}
	}
	archs := make([]string, len(trials))
	for i, t := range trials {
		archs[i] = t.Arch
	}
	roles := compound.Roles(archs)
	var rows []ScalingRow
	for i, t := range trials {
		a, err := space.Parse([]byte(t.Arch))
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", t.ID, err)
		}
		sa := a.(spaces.ScaledArch)
		s := sa.Scaling()
		r := ScalingRow{Trial: t.ID, Role: roles[i], Alpha: sa.Alpha, Beta: sa.Beta, Gamma: sa.Gamma, Phi: sa.Phi,
			Depth: s.Depth, Width: s.Width, Resolution: s.Resolution, State: t.State, Duplicate: t.Duplicate, Metrics: t.Metrics, Error: t.Error}
		if sc, ok := space.(*spaces.Scaled); ok {
			r.Effective = sc.EffectiveScaling(sa)
		}
		if net, err := space.Network(sa); err == nil {
			in := net.Layers[0].Shape
			r.Input, r.FLOPs, r.Params = [3]int{in.C, in.H, in.W}, net.FLOPs(), net.Params()
		} else if r.Error == "" {
			r.Error = err.Error()
		}
		rows = append(rows, r)
	}
	return rows, nil
}
