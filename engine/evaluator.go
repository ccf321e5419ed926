package engine

import (
	"context"
	"fmt"

	"cellar/spaces"
)

// Evaluator turns an architecture into metrics. Evaluate is called from several
// worker goroutines at once and must be safe for that; it should return promptly
// once ctx is done.
type Evaluator interface {
	// Metrics lists the metric names Evaluate returns, so objectives can be checked
	// before a search starts.
	Metrics() []string
	Evaluate(ctx context.Context, arch spaces.Arch, progress func(Progress)) (Outcome, error)
}

// Outcome is what an evaluation measured.
type Outcome struct {
	Metrics map[string]float64
	Curve   []CurvePoint // the learning curve, for evaluators that train
	Stop    *Stop        // set when the evaluation stopped early (multi-fidelity)
	Rungs   []RungResult // each rung's result, for a cascade
}

// CurvePoint is one point of a learning curve.
type CurvePoint struct {
	Epoch    float64            `json:"epoch"`
	Step     int                `json:"step"`
	Metrics  map[string]float64 `json:"metrics"`
	Duration float64            `json:"seconds"` // since the trial started
}

// Progress is an evaluator's report while it runs, e.g. after each epoch.
type Progress struct {
	Epoch   float64            `json:"epoch"`
	Step    int                `json:"step"`
	Message string             `json:"message,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Size reports the IR's parameter and FLOP counts: a smoke-test evaluator that needs
// no data and takes microseconds.
type Size struct{ space spaces.Space }

// NewSize returns the params/flops evaluator for a space.
func NewSize(space spaces.Space) *Size { return &Size{space: space} }

func (s *Size) Metrics() []string { return []string{"params", "flops"} }

func (s *Size) Evaluate(ctx context.Context, arch spaces.Arch, _ func(Progress)) (Outcome, error) {
	net, err := s.space.Network(arch)
	if err != nil {
		return Outcome{}, fmt.Errorf("build network: %w", err)
	}
	return Outcome{Metrics: map[string]float64{"params": float64(net.Params()), "flops": float64(net.FLOPs())}}, nil
}
