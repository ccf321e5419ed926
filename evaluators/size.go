package evaluators

import (
	"context"
	"fmt"

	"cellar/engine"
	"cellar/spaces"
)

// Size reports the IR's parameter and FLOP counts: a smoke-test evaluator that needs
// no data and takes microseconds.
type Size struct{ space spaces.Space }

// NewSize returns the params/flops evaluator for a space.
func NewSize(space spaces.Space) *Size { return &Size{space: space} }

func (s *Size) Metrics() []string { return []string{"params", "flops"} }

func (s *Size) Evaluate(ctx context.Context, job engine.Job, _ func(engine.Progress)) (engine.Outcome, error) {
	net, err := s.space.Network(job.Arch)
	if err != nil {
		return engine.Outcome{}, fmt.Errorf("build network: %w", err)
	}
	return engine.Outcome{Metrics: map[string]float64{"params": float64(net.Params()), "flops": float64(net.FLOPs())}}, nil
}
