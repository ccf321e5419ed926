// Package enginetest holds what the tests of the engine, the evaluators and the
// programs built on them share: an experiment built from YAML with the built-in
// evaluators, an in-memory store that records every commit, a search run to its end,
// and a wait for an engine's state. It is for tests only.
package enginetest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/testkit"
	"cellar/internal/testtable"
)

// Build parses and builds an experiment with the built-in evaluators, failing the
// test on any error.
func Build(t testing.TB, src string) *engine.Experiment {
	t.Helper()
	return BuildWith(t, src, evaluators.Builtin())
}

// BuildWith is Build with the given evaluator factories.
func BuildWith(t testing.TB, src string, evals map[string]engine.EvaluatorFactory) *engine.Experiment {
	t.Helper()
	cfg, err := engine.ParseConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := engine.Build(cfg, []byte(src), evals)
	if err != nil {
		t.Fatal(err)
	}
	return exp
}

// MemStore is an in-memory engine.Store that records what was committed, in order.
// Read its fields after the run, or under Lock.
type MemStore struct {
	sync.Mutex
	Trials      map[uint64]engine.Trial
	Journal     []engine.Entry
	Checkpoints []engine.Checkpoint
	Commits     int
	Fail        error // when set, every commit fails with it
}

func (m *MemStore) Commit(trials []engine.Trial, cp engine.Checkpoint) error {
	m.Lock()
	defer m.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	if m.Trials == nil {
		m.Trials = map[uint64]engine.Trial{}
	}
	for _, t := range trials {
		if _, dup := m.Trials[t.ID]; dup {
			return fmt.Errorf("trial %d committed twice", t.ID)
		}
		m.Trials[t.ID] = t
	}
	m.Journal = append(m.Journal, cp.Journal...)
	m.Checkpoints = append(m.Checkpoints, cp)
	m.Commits++
	return nil
}

// Run runs exp to the end and returns its trials in tell order as
// "id arch origin metrics".
func Run(t testing.TB, exp *engine.Experiment, opt engine.Options) []string {
	t.Helper()
	var log []string
	opt.Observe = func(tr engine.Trial) {
		line := fmt.Sprintf("%d %s %s %v", tr.ID, tr.Arch, tr.Origin, tr.Metrics)
		if tr.Duplicate != 0 {
			line += fmt.Sprintf(" duplicate of %d", tr.Duplicate)
		}
		log = append(log, line)
	}
	if err := engine.New(exp, opt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return log
}

// WaitState waits until the engine is in state want.
func WaitState(t testing.TB, e *engine.Engine, want engine.RunState) {
	t.Helper()
	testkit.WaitFor(t, fmt.Sprintf("engine state %s", want), func() bool { return e.Snapshot().State == want })
}

// Cascade builds a search of the synthetic NB201 table through a cascade that ranks
// by params first (eta 3), with extra appended to the evaluator's options.
func Cascade(t testing.TB, strategy string, trials, parallel int, extra string) *engine.Experiment {
	t.Helper()
	path := testtable.NB201(t, testtable.Smooth)
	return Build(t, fmt.Sprintf(`
name: cascade
seed: 5
space: {name: nb201}
strategy: {name: %s}
evaluator: {name: cascade, eta: 3, rungs: [{name: params}, {name: table, path: %s}]%s}
objectives: [{name: test_accuracy, direction: max}]
budget: {trials: %d}
parallelism: %d
`, strategy, path, extra, trials, parallel))
}

// Resumable is checkpoint i as a Store gives it back for a resume: with the latest
// large state of each part committed up to then (a commit carries only those that
// changed).
func (m *MemStore) Resumable(i int) engine.Checkpoint {
	m.Lock()
	defer m.Unlock()
	cp := m.Checkpoints[i]
	cp.Large = map[string][]byte{}
	for _, c := range m.Checkpoints[:i+1] {
		maps.Copy(cp.Large, c.Large)
	}
	return cp
}
