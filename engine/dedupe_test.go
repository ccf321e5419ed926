package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	. "cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
	"cellar/spaces"
	"cellar/strategies"
)

// keyCounter counts the evaluations of each key (arch or function).
type keyCounter struct {
	Evaluator
	key   func(spaces.Arch) string
	mu    sync.Mutex
	calls map[string]int
}

func (c *keyCounter) Evaluate(ctx context.Context, job Job, p func(Progress)) (Outcome, error) {
	c.mu.Lock()
	c.calls[c.key(job.Arch)]++
	c.mu.Unlock()
	return c.Evaluator.Evaluate(ctx, job, p)
}

type dedupeCase struct {
	mode     string
	parallel int
}

func (c dedupeCase) String() string { return fmt.Sprintf("%s/parallel-%d", c.mode, c.parallel) }

// No function (or arch) is evaluated twice: a trial the strategy asks again is
// recorded as a duplicate of the first, with its metrics, at no cost to the budget.
func TestDedupeEvaluatesEachFunctionOnce(t *testing.T) {
	cases := []dedupeCase{{"function", 3}, {"function", 1}, {"arch", 3}, {"none", 1}}
	testkit.Sweep(t, cases, nil, func(t *testing.T, c dedupeCase) {
		exp := tableConfigWith(t, "regevo", 150, c.parallel, "dedupe: "+c.mode)
		key := func(a spaces.Arch) string { return a.String() }
		if c.mode == "function" {
			key = func(a spaces.Arch) string { return spaces.FunctionOf(exp.Space, a) }
		}
		ev := &keyCounter{Evaluator: exp.Evaluator, key: key, calls: map[string]int{}}
		exp.Evaluator = ev
		store := &enginetest.MemStore{}
		enginetest.Run(t, exp, Options{Store: store})
		evaluated, dupes := 0, 0
		for id, tr := range store.Trials {
			if tr.Duplicate == 0 {
				evaluated++
				continue
			}
			dupes++
			first, ok := store.Trials[tr.Duplicate]
			a, _ := exp.Space.Parse([]byte(tr.Arch))
			b, _ := exp.Space.Parse([]byte(first.Arch))
			if !ok || tr.Duplicate >= id || key(a) != key(b) || fmt.Sprint(tr.Metrics) != fmt.Sprint(first.Metrics) || tr.Status() != "dup" {
				t.Errorf("trial %d (%s, %v) is recorded as a duplicate of %d (%s, %v)", id, tr.Arch, tr.Metrics, tr.Duplicate, first.Arch, first.Metrics)
			}
		}
		if evaluated != 150 {
			t.Errorf("%d trials evaluated (and %d duplicates); the budget is 150 evaluations", evaluated, dupes)
		}
		twice := 0
		for _, n := range ev.calls {
			if n > 1 {
				twice++
			}
		}
		switch c.mode {
		case "none":
			if dupes != 0 || twice == 0 {
				t.Errorf("dedupe none: %d duplicates, %d keys evaluated more than once; regevo repeats itself", dupes, twice)
			}
		default:
			if twice != 0 || dupes == 0 {
				t.Errorf("dedupe %s: %d keys evaluated more than once, %d duplicates", c.mode, twice, dupes)
			}
		}
	})
}

// A strategy that asks only what it has had ends the search (MaxDuplicateRun asks in
// a row), every ask recorded.
func TestDedupeEndsAConvergedSearch(t *testing.T) {
	exp := tableConfigWith(t, "regevo", 100, 1, "dedupe: arch")
	exp.Strategy = &onlyOne{}
	store := &enginetest.MemStore{}
	log := enginetest.Run(t, exp, Options{Store: store})
	if len(log) != 1+MaxDuplicateRun || strings.Contains(log[0], "duplicate") || !strings.HasSuffix(log[len(log)-1], "duplicate of 1") {
		t.Errorf("%d trials, first %q, last %q; want 1 evaluated and %d duplicates of it", len(log), log[0], log[len(log)-1], MaxDuplicateRun)
	}
}

// onlyOne asks one arch for ever.
type onlyOne struct{ told int }

func (s *onlyOne) Name() string { return "only-one" }
func (s *onlyOne) Ask(n int) []strategies.Candidate {
	out := make([]strategies.Candidate, n)
	for i := range out {
		out[i] = strategies.Candidate{Arch: spaces.NB201Arch{3, 3, 3, 3, 3, 3}}
	}
	return out
}
func (s *onlyOne) Tell(rs []strategies.Result) { s.told += len(rs) }
func (s *onlyOne) State() ([]byte, error)      { return []byte("{}"), nil }
func (s *onlyOne) Restore(b []byte) error      { return nil }

// A new experiment's source gets the current generation of defaults written into
// it, and with it dedupe by function; one that says, or an old one stored without
// it, keeps what it has: no dedupe, and its components' legacy defaults.
func TestPinDefaults(t *testing.T) {
	block := "name: x\nseed: 1\n"
	if got := string(PinDefaults([]byte(block))); got != block+fmt.Sprintf("defaults: %d\n", CurrentDefaults) {
		t.Errorf("block source pinned as %q", got)
	}
	given := "name: x\ndefaults: 0\n"
	if got := string(PinDefaults([]byte(given))); got != given {
		t.Errorf("a source that says its defaults became %q", got)
	}
	flow := `{"name": "x", "seed": 1}`
	got := string(PinDefaults([]byte(flow)))
	if !strings.Contains(got, fmt.Sprintf("defaults: %d", CurrentDefaults)) || !strings.Contains(got, `"name": "x"`) {
		t.Errorf("flow source pinned as %q", got)
	}
	src := `
name: old
space: {name: nb201}
strategy: {name: random}
evaluator: {name: table, path: nb201}
budget: {trials: 5}
`
	cfg, err := ParseConfig([]byte(src))
	if err != nil || cfg.Dedupe != DedupeNone || !cfg.Strategy.Legacy() {
		t.Errorf("an experiment without defaults: dedupe %q, legacy %v (%v); it replays as it ran", cfg.Dedupe, cfg.Strategy.Legacy(), err)
	}
	cfg, err = ParseConfig(PinDefaults([]byte(src)))
	if err != nil || cfg.Dedupe != DefaultDedupe || cfg.Strategy.Legacy() || cfg.Evaluator.Legacy() {
		t.Errorf("a new experiment: dedupe %q, legacy %v (%v)", cfg.Dedupe, cfg.Strategy.Legacy(), err)
	}
	if _, err := ParseConfig([]byte(src + "dedupe: functions\n")); err == nil || !strings.Contains(err.Error(), `dedupe: "functions"`) {
		t.Errorf("dedupe: functions: %v", err)
	}
	if _, err := ParseConfig([]byte(src + "defaults: 99\n")); err == nil || !strings.Contains(err.Error(), "defaults: 99") {
		t.Errorf("defaults: 99: %v", err)
	}
}
