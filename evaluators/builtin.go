// Package evaluators holds cellar's built-in evaluators: a tabular benchmark, real
// training (with early stopping), a program of the user's (command), zero-cost
// proxies, a one-shot supernet, the IR's size, and a cascade that ranks candidates
// through several of them. Each implements
// engine.Evaluator, the contract any evaluator of a user's implements too, and some
// of engine's optional interfaces (engine.Stateful, engine.Historian,
// learning.Learner); Builtin maps their config names to their factories.
package evaluators

import (
	"context"
	"fmt"
	"maps"

	"cellar/engine"
	"cellar/spaces"
)

// builtin are the factories by the name an experiment's evaluator component gives.
var builtin = map[string]engine.EvaluatorFactory{
	"table":    tableFactory,
	"train":    trainFactory,
	"oneshot":  oneShotFactory,
	"zerocost": zeroCostFactory,
	"params":   sizeFactory,
	"flops":    sizeFactory,
	"cascade":  cascadeFactory,
	"command":  commandFactory,
}

// Builtin returns the built-in evaluators' factories by name, a copy the caller may
// add its own to before passing it to engine.Build.
func Builtin() map[string]engine.EvaluatorFactory { return maps.Clone(builtin) }

func tableFactory(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
	var opt TableOptions
	if err := c.Decode(&opt); err != nil {
		return nil, err
	}
	if opt.Path == "" {
		return nil, fmt.Errorf("table: missing path (the CSV file to look archs up in)")
	}
	return LoadTable(opt.Path, env.Space, opt.ArchCol)
}

func trainFactory(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
	opt := DefaultTrain
	if err := spaces.DecodeOptional(c, &opt, &opt.EarlyStop, DefaultEarlyStop, "early_stop"); err != nil {
		return nil, err
	}
	t, err := NewTrain(env.Space, opt)
	if err != nil {
		return nil, err
	}
	if len(env.Objectives) > 0 {
		t.keeper = newKeeper(opt.KeepWeights, env.Objectives) // the best and front by the experiment's own
	}
	return t, nil
}

func oneShotFactory(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
	opt := DefaultOneShot
	opt.Depth = spaces.SearchDepthOf(env.Space) // the space's own default
	if err := c.Decode(&opt); err != nil {
		return nil, err
	}
	return NewOneShot(env.Space, opt)
}

func zeroCostFactory(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
	opt := DefaultZeroCost // an explicit zero is kept
	if err := c.Decode(&opt); err != nil {
		return nil, err
	}
	return NewZeroCost(context.Background(), env.Space, opt)
}

func commandFactory(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
	opt := DefaultCommand
	if err := spaces.DecodeOptional(c, &opt, &opt.EarlyStop, DefaultEarlyStop, "early_stop"); err != nil {
		return nil, err
	}
	return NewCommand(env.Space, opt)
}

func sizeFactory(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
	if err := c.Decode(&struct{}{}); err != nil {
		return nil, err
	}
	return NewSize(env.Space), nil
}
