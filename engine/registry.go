package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"cellar/spaces"
	"cellar/strategies"
)

// Experiment is a Config with its parts built.
type Experiment struct {
	Config    *Config
	Source    []byte       // the config as the user wrote it, kept with the experiment
	Space     spaces.Space // constrained, in reject mode (see Constraints)
	Limits    []spaces.Limit
	Strategy  strategies.Strategy
	Evaluator Evaluator
}

// own is the engine's copy of the experiment: steering changes its budget and
// limits, never the caller's. The space, strategy and evaluator are the search's
// working parts and are shared (a caller builds an Experiment for one engine).
func (x *Experiment) own() *Experiment {
	cp := *x
	cfg := *x.Config
	cfg.Objectives = slices.Clone(cfg.Objectives)
	if cfg.Constraints != nil {
		c := *cfg.Constraints
		cfg.Constraints = &c
	}
	cp.Config = &cfg
	cp.Limits = slices.Clone(x.Limits)
	return &cp
}

// EvaluatorFactory builds an evaluator from its config component. The built-in
// factories are evaluators.Builtin(); a program adds its own to a copy of that map
// and passes it to Build.
type EvaluatorFactory func(c Component, env EvaluatorEnv) (Evaluator, error)

// EvaluatorEnv is what a factory is told about the experiment besides its own
// component.
type EvaluatorEnv struct {
	// Space is the space whose archs the evaluator gets (for compound scaling, the
	// scaled space; never the constrained one: limits are the engine's business).
	Space spaces.Space
	// Objectives are the experiment's objectives as written; empty means the
	// evaluator's first metric (DefaultObjectives).
	Objectives []Objective
	// Measured are the objectives the engine measures on the IR before Evaluate
	// (params, flops, latency) and hands over in Job.Measured.
	Measured []string
	// Factories are all the factories Build was given, for an evaluator built of
	// others (a cascade's rungs).
	Factories map[string]EvaluatorFactory
}

// BuildSpace makes the space a component names, with its options, from the spaces
// registered (spaces.Register).
func BuildSpace(c Component) (spaces.Space, error) {
	return spaces.Build(c.Name, c)
}

// ExperimentSpace is the space an experiment's archs belong to: the configured space,
// or the one its strategy makes of it (compound scaling: a base arch with its
// coefficients).
func ExperimentSpace(cfg *Config) (spaces.Space, error) {
	s, err := BuildSpace(cfg.Space)
	if err != nil {
		return nil, err
	}
	f, err := strategies.Lookup(cfg.Strategy.Name)
	if err != nil || f.Space == nil {
		return s, nil // an unknown strategy is the strategy's error, said there
	}
	return f.Space(s)
}

// BuildStrategy makes the strategy a component names, seeded, from the strategies
// registered (strategies.Register).
func BuildStrategy(c Component, space spaces.Space, seed uint64) (strategies.Strategy, error) {
	f, err := strategies.Lookup(c.Name)
	if err != nil {
		return nil, err
	}
	return f.New(c, space, seed)
}

// Build makes every part of a config. evaluators are the factories to pick the
// evaluator from (evaluators.Builtin(), and any of the caller's own). Objectives
// default to the evaluator's first metric (DefaultObjectives); an objective the
// evaluator does not give is an error.
func Build(cfg *Config, source []byte, evaluators map[string]EvaluatorFactory) (*Experiment, error) {
	if evaluators == nil {
		return nil, errors.New("engine: Build was given no evaluator factories (pass evaluators.Builtin())")
	}
	base, err := ExperimentSpace(cfg)
	if err != nil {
		return nil, within("space", err)
	}
	space, limits, err := constrain(cfg, base)
	if err != nil {
		return nil, err
	}
	strat, err := BuildStrategy(cfg.Strategy, space, cfg.Seed)
	if err != nil {
		return nil, within("strategy", err)
	}
	eval, err := buildEvaluator(cfg, base, evaluators)
	if err != nil {
		return nil, within("evaluator", err)
	}
	if err := checkObjectives(cfg, eval.Metrics()); err != nil {
		return nil, err
	}
	if err := SetObjectives(strat, cfg.Objectives); err != nil {
		return nil, within("strategy", err)
	}
	return &Experiment{Config: cfg, Source: source, Space: space, Limits: limits, Strategy: strat, Evaluator: eval}, nil
}

// buildEvaluator makes the experiment's evaluator with the factory its name picks.
func buildEvaluator(cfg *Config, space spaces.Space, evaluators map[string]EvaluatorFactory) (Evaluator, error) {
	f, ok := evaluators[cfg.Evaluator.Name]
	if !ok {
		names := slices.Sorted(maps.Keys(evaluators))
		return nil, fmt.Errorf("unknown evaluator %q (evaluators: %s)", cfg.Evaluator.Name, strings.Join(names, ", "))
	}
	env := EvaluatorEnv{Space: space, Objectives: slices.Clone(cfg.Objectives), Factories: evaluators}
	for _, o := range cfg.Objectives {
		if _, ok := Measures(cfg.Latency)[o.Name]; ok {
			env.Measured = append(env.Measured, o.Name)
		}
	}
	return f(cfg.Evaluator, env)
}

// SetObjectives tells a multi-objective strategy which way each objective is better
// (strategies that rank by one number ignore it).
func SetObjectives(strat strategies.Strategy, objs []Objective) error {
	mo, ok := strat.(strategies.MultiObjective)
	if !ok {
		return nil
	}
	dirs := make([]bool, len(objs))
	for i, o := range objs {
		dirs[i] = o.Maximise()
	}
	return mo.SetObjectives(dirs)
}

// DefaultObjectives are an experiment's objectives when it names none: the
// evaluator's first metric, minimised when it is a size (params, flops), else
// maximised.
func DefaultObjectives(metrics []string) []Objective {
	if len(metrics) == 0 {
		return nil
	}
	o := Objective{Name: metrics[0], Direction: "max"}
	if o.Name == "params" || o.Name == "flops" {
		o.Direction = "min"
	}
	return []Objective{o}
}

// GuessObjective is the objective a reader takes for an experiment stored before
// checkpoints recorded their objectives and whose config names none: the first of
// a trial's metrics by name, with GuessDirection.
func GuessObjective(metrics map[string]float64) Objective {
	if len(metrics) == 0 {
		return Objective{Name: "-", Direction: "max"}
	}
	name := slices.Sorted(maps.Keys(metrics))[0]
	return Objective{Name: name, Direction: GuessDirection(name)}
}

// GuessDirection says how a metric not among the objectives is best read: sizes,
// losses, times and latencies smallest first ("min"), the rest largest first.
func GuessDirection(metric string) string {
	for _, low := range []string{"params", "flops", "loss", "seconds", "latency"} {
		if strings.Contains(metric, low) {
			return "min"
		}
	}
	return "max"
}

func checkObjectives(cfg *Config, metrics []string) error {
	if len(cfg.Objectives) == 0 {
		cfg.Objectives = DefaultObjectives(metrics)
	}
	measured := Measures(cfg.Latency) // the engine adds these from the IR
	for i, o := range cfg.Objectives {
		_, found := measured[o.Name]
		for _, m := range metrics {
			found = found || m == o.Name
		}
		if !found && o.Name == "latency" {
			return fmt.Errorf("objectives[%d]: %w", i, ErrNoLatencyTable)
		}
		if !found {
			return fmt.Errorf("objectives[%d]: %s gives no metric %q (it gives: %s; params, flops and latency come from the IR with any evaluator)", i, cfg.Evaluator.Name, o.Name, strings.Join(metrics, ", "))
		}
	}
	return nil
}
