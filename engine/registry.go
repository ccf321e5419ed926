package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
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

// EvaluatorFactory builds an evaluator from its config component for a space.
type EvaluatorFactory func(c Component, space spaces.Space) (Evaluator, error)

// Evaluators are the built-in evaluators by name. Callers may add their own to a copy
// (see Build).
func Evaluators() map[string]EvaluatorFactory {
	return map[string]EvaluatorFactory{
		"table": func(c Component, space spaces.Space) (Evaluator, error) {
			var opt TableOptions
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			if opt.Path == "" {
				return nil, fmt.Errorf("table: missing path (the CSV file to look archs up in)")
			}
			return LoadTable(opt.Path, space, opt.ArchCol)
		},
		"train": func(c Component, space spaces.Space) (Evaluator, error) {
			var opt TrainOptions
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			return NewTrain(space, opt)
		},
		"oneshot": func(c Component, space spaces.Space) (Evaluator, error) {
			var opt OneShotOptions
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			return NewOneShot(space, opt)
		},
		"params": sizeFactory,
		"flops":  sizeFactory,
		"zerocost": func(c Component, space spaces.Space) (Evaluator, error) {
			opt := DefaultZeroCost
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			return NewZeroCost(context.Background(), space, opt)
		},
	}
}

func sizeFactory(c Component, space spaces.Space) (Evaluator, error) {
	if err := c.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	return NewSize(space), nil
}

// BuildSpace makes the space a component names, with its options.
func BuildSpace(c Component) (spaces.Space, error) {
	switch c.Name {
	case "nb201":
		opt := spaces.DefaultNB201
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return spaces.NewNB201(opt)
	case "cell":
		opt := spaces.DefaultCell
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return spaces.NewCell(opt)
	case "network":
		opt := spaces.DefaultNetwork
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return spaces.NewNetwork(opt)
	}
	return nil, fmt.Errorf("unknown space %q (spaces: cell, nb201, network)", c.Name)
}

// ExperimentSpace is the space an experiment's archs belong to: the configured space,
// or, for compound scaling, its scaled archs (a base arch with coefficients).
func ExperimentSpace(cfg *Config) (spaces.Space, error) {
	s, err := BuildSpace(cfg.Space)
	if err != nil || cfg.Strategy.Name != "compound" {
		return s, err
	}
	return spaces.NewScaled(s)
}

// StrategyNames lists the built-in strategies.
var StrategyNames = []string{"random", "evolution", "regevo", "local", "predictor", "reinforce", "darts", "nsga2", "compound"}

// BuildStrategy makes the strategy a component names, seeded.
func BuildStrategy(c Component, space spaces.Space, seed uint64) (strategies.Strategy, error) {
	switch c.Name {
	case "random":
		if err := c.Decode(&struct{}{}); err != nil {
			return nil, err
		}
		return strategies.NewRandom(space, seed), nil
	case "evolution":
		opt := strategies.DefaultEvolution
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return strategies.NewEvolution(space, seed, opt)
	case "regevo":
		opt := strategies.DefaultRegEvo
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return strategies.NewRegEvo(space, seed, opt)
	case "local":
		var opt strategies.LocalOptions
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return strategies.NewLocal(space, seed, opt), nil
	case "reinforce":
		opt := strategies.DefaultReinforce // an explicit zero is kept
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return strategies.NewReinforce(space, seed, opt)
	case "nsga2":
		opt := strategies.DefaultNSGA2
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return strategies.NewNSGA2(space, seed, opt)
	case "darts":
		var opt strategies.DartsOptions
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		if opt.Depth == 0 {
			opt.Depth = spaces.SearchDepth[space.Name()]
		}
		return strategies.NewDarts(space, seed, opt)
	case "compound":
		var opt strategies.CompoundOptions
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return strategies.NewCompound(space, opt)
	case "predictor":
		opt := strategies.DefaultPredictor // an explicit zero is kept
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return strategies.NewPredictor(space, seed, opt)
	}
	return nil, fmt.Errorf("unknown strategy %q (strategies: %s)", c.Name, strings.Join(StrategyNames, ", "))
}

// Build makes every part of a config. evaluators are the factories to pick the
// evaluator from (Evaluators() when nil). Objectives default to the evaluator's first
// metric, maximised; an objective the evaluator does not give is an error.
func Build(cfg *Config, source []byte, evaluators map[string]EvaluatorFactory) (*Experiment, error) {
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
	if evaluators == nil {
		evaluators = Evaluators()
	}
	eval, err := buildEvaluator(cfg, base, evaluators)
	if err != nil {
		return nil, within("evaluator", err)
	}
	if err := checkObjectives(cfg, eval.Metrics()); err != nil {
		return nil, err
	}
	if c, ok := eval.(*Cascade); ok {
		c.final = cfg.Objectives[0]
	}
	if err := setObjectives(strat, cfg.Objectives); err != nil {
		return nil, within("strategy", err)
	}
	return &Experiment{Config: cfg, Source: source, Space: space, Limits: limits, Strategy: strat, Evaluator: eval}, nil
}

// buildEvaluator makes the experiment's evaluator; a cascade builds its rungs from the
// same factories.
func buildEvaluator(cfg *Config, space spaces.Space, evaluators map[string]EvaluatorFactory) (Evaluator, error) {
	if cfg.Evaluator.Name == "cascade" {
		// The engine measures on the IR the objectives it can (measure), before a
		// cascade ranks.
		var measured []string
		for _, o := range cfg.Objectives {
			if _, ok := measures(cfg.Latency)[o.Name]; ok {
				measured = append(measured, o.Name)
			}
		}
		return NewCascade(cfg.Evaluator, space, evaluators, cfg.Objectives, measured)
	}
	f, ok := evaluators[cfg.Evaluator.Name]
	if !ok {
		names := append(slices.Sorted(maps.Keys(evaluators)), "cascade")
		sort.Strings(names)
		return nil, fmt.Errorf("unknown evaluator %q (evaluators: %s)", cfg.Evaluator.Name, strings.Join(names, ", "))
	}
	return f(cfg.Evaluator, space)
}

// setObjectives tells a multi-objective strategy which way each objective is better.
func setObjectives(strat strategies.Strategy, objs []Objective) error {
	mo, ok := strat.(interface{ SetObjectives(maximise []bool) error })
	if !ok {
		return nil
	}
	dirs := make([]bool, len(objs))
	for i, o := range objs {
		dirs[i] = o.Maximise()
	}
	return mo.SetObjectives(dirs)
}

func checkObjectives(cfg *Config, metrics []string) error {
	if len(cfg.Objectives) == 0 {
		cfg.Objectives = []Objective{{Name: metrics[0], Direction: "max"}}
		if metrics[0] == "params" || metrics[0] == "flops" {
			cfg.Objectives[0].Direction = "min"
		}
	}
	measured := measures(cfg.Latency) // the engine adds these from the IR
	for i, o := range cfg.Objectives {
		_, found := measured[o.Name]
		for _, m := range metrics {
			found = found || m == o.Name
		}
		if !found && o.Name == "latency" {
			return fmt.Errorf("objectives[%d]: %w", i, errNoLatencyTable)
		}
		if !found {
			return fmt.Errorf("objectives[%d]: %s gives no metric %q (it gives: %s; params, flops and latency come from the IR with any evaluator)", i, cfg.Evaluator.Name, o.Name, strings.Join(metrics, ", "))
		}
	}
	return nil
}
