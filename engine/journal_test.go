package engine_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
)

// steerMidRun pauses a running search after its tenth trial, injects a hand-made
// trial, changes regevo's population and sample, and resumes: decisions whose timing
// depends on the machine, which only the journal can make reproducible.
func steerMidRun(t *testing.T, e *Engine, exp *Experiment, sub *Subscription) {
	t.Helper()
	done := 0
	for ev := range sub.C {
		if ev.Kind == TrialFinished && ev.Trial.Final() {
			if done++; done == 10 {
				break
			}
		}
	}
	go func() { // keep the subscription drained
		for range sub.C {
		}
	}()
	if err := e.Pause(false); err != nil {
		t.Error(err)
		return
	}
	hand, _ := exp.Space.Parse([]byte("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"))
	for _, err := range []error{
		e.InjectAs("alice", hand, 3),
		e.Steer("alice", "population", 12),
		e.Steer("bob", "sample", 4),
		e.Resume(),
	} {
		if err != nil {
			t.Error(err)
		}
	}
}

// held makes trials from a given id on wait until released, so that a test can act
// mid-run however fast the evaluator is.
type held struct {
	Evaluator
	from uint64
	gate chan struct{}
}

func holdFrom(ev Evaluator, from uint64) *held {
	return &held{Evaluator: ev, from: from, gate: make(chan struct{})}
}

func (h *held) Evaluate(ctx context.Context, job Job, p func(Progress)) (Outcome, error) {
	if job.Trial >= h.from {
		select {
		case <-h.gate:
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
	}
	return h.Evaluator.Evaluate(ctx, job, p)
}

// jittered delays each evaluation at random, so that parallel trials finish in an
// order no run repeats.
func jittered(exp *Experiment, seed uint64) {
	exp.Evaluator = &jitter{Evaluator: exp.Evaluator, rng: rand.New(rand.NewPCG(seed, 1)), max: 3 * time.Millisecond}
}

// trialKeys are the trials as a replay must reproduce them: wall-clock metrics
// (*_seconds) aside.
func trialKeys(trials map[uint64]Trial) []string {
	var out []string
	for id := uint64(1); id <= uint64(len(trials)); id++ {
		tr := trials[id]
		m := maps.Clone(tr.Metrics)
		maps.DeleteFunc(m, func(k string, _ float64) bool { return strings.HasSuffix(k, "_seconds") })
		out = append(out, fmt.Sprintf("%d %s %s %s %v stop=%v rungs=%d", tr.ID, tr.Arch, tr.Origin, tr.Status(), m, tr.Stop, len(tr.Rungs)))
	}
	return out
}

// Learners (a DARTS search, a one-shot supernet evaluator) train between asks, when
// they choose; a replay retrains them the same way and gets the same trials.
// namedSrc is an experiment file as a case of a sweep.
type namedSrc struct{ name, src string }

func (c namedSrc) String() string { return c.name }

func TestReplayOfLearnersTrainsAlike(t *testing.T) {
	testkit.Sweep(t, []namedSrc{{"darts", dartsSrc}, {"oneshot", oneShotSrc}}, nil, func(t *testing.T, c namedSrc) {
		src := c.src
		exp := enginetest.Build(t, src)
		store := &enginetest.MemStore{}
		if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		re := enginetest.Build(t, src)
		got := &enginetest.MemStore{}
		if err := New(re, Options{Store: got, Script: &Script{Entries: store.Journal, Original: store.Trials}}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if want, have := trialKeys(store.Trials), trialKeys(got.Trials); !reflect.DeepEqual(want, have) {
			t.Errorf("the replay differs:\n%s\n---\n%s", strings.Join(want, "\n"), strings.Join(have, "\n"))
		}
	})
}

func TestReplayOfParallelRunGivesSameTrials(t *testing.T) {
	exp := tableConfig(t, "regevo", 60, 4)
	jittered(exp, 1)
	h := holdFrom(exp.Evaluator, 14) // the search cannot end before the changes
	exp.Evaluator = h
	store := &enginetest.MemStore{}
	e := New(exp, Options{Store: store})
	sub := e.Subscribe()
	errc := make(chan error, 1)
	go func() { errc <- e.Run(context.Background()) }()
	steerMidRun(t, e, exp, sub)
	close(h.gate)
	if err := testkit.Receive(t, errc, "the search to end"); err != nil {
		t.Fatal(err)
	}
	var hands, steers int
	for _, en := range store.Journal {
		switch en.Op {
		case OpInject:
			hands++
		case OpSteer:
			steers++
		}
	}
	if hands != 1 || steers != 2 || len(store.Trials) != 60 {
		t.Fatalf("journal: %d injections, %d steers; %d trials", hands, steers, len(store.Trials))
	}

	// The replay runs with its own timing, four at a time, and must give the same list.
	replay := tableConfig(t, "regevo", 60, 4)
	jittered(replay, 2)
	got := &enginetest.MemStore{}
	if err := New(replay, Options{Store: got, Script: &Script{Entries: store.Journal, Original: store.Trials}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, have := trialKeys(store.Trials), trialKeys(got.Trials)
	if !reflect.DeepEqual(want, have) {
		for i := range min(len(want), len(have)) {
			if want[i] != have[i] {
				t.Fatalf("trial %d differs:\noriginal %s\nreplay   %s", i+1, want[i], have[i])
			}
		}
		t.Fatalf("%d trials replayed; the original has %d", len(have), len(want))
	}
	// The replay's own journal is the original's, decision for decision.
	strip := func(es []Entry) []string {
		var out []string
		for _, en := range es {
			out = append(out, fmt.Sprintf("%s %d %s %s %v %v %s", en.Op, en.Trial, en.Arch, en.Param, en.Old, en.New, en.Who))
		}
		return out
	}
	if !reflect.DeepEqual(strip(store.Journal), strip(got.Journal)) {
		t.Error("the replay's journal differs from the original's")
	}
}

func TestReplayDivergesLoudly(t *testing.T) {
	exp := tableConfig(t, "regevo", 20, 1)
	store := &enginetest.MemStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := tableConfig(t, "regevo", 20, 1)
	other.Strategy, _ = BuildStrategy(other.Config.Strategy, other.Space, 999) // another seed
	err := New(other, Options{Script: &Script{Entries: store.Journal, Original: store.Trials}}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "replay diverged at trial 1") {
		t.Errorf("replay with another seed: %v; want a divergence at trial 1", err)
	}
}

// A cascade's promotions depend on which trials reached a rung first; the replay
// promotes as the original did even when its own timing differs.
func TestReplayOfParallelCascade(t *testing.T) {
	exp := enginetest.Cascade(t, "regevo", 60, 4, "")
	jittered(exp, 3)
	store := &enginetest.MemStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	replay := enginetest.Cascade(t, "regevo", 60, 4, "")
	jittered(replay, 4)
	got := &enginetest.MemStore{}
	if err := New(replay, Options{Store: got, Script: &Script{Entries: store.Journal, Original: store.Trials}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want, have := trialKeys(store.Trials), trialKeys(got.Trials); !reflect.DeepEqual(want, have) {
		t.Errorf("the replay differs:\n%s\n---\n%s", strings.Join(want, "\n"), strings.Join(have, "\n"))
	}
}

// counting counts evaluations.
type counting struct {
	Evaluator
	n atomic.Int64
}

func (c *counting) Evaluate(ctx context.Context, job Job, p func(Progress)) (Outcome, error) {
	c.n.Add(1)
	return c.Evaluator.Evaluate(ctx, job, p)
}

func TestForkStartsFromRecordedState(t *testing.T) {
	exp := tableConfig(t, "regevo", 50, 3)
	store := &enginetest.MemStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Fork at trial 20: trials 1-20 are the original's outcomes, not evaluated again;
	// the strategy is where it was after telling trial 20, so with a deterministic
	// table the fork goes on to ask what the original asked.
	fork := tableConfig(t, "regevo", 50, 3)
	c := &counting{Evaluator: fork.Evaluator}
	fork.Evaluator = c
	got := &enginetest.MemStore{}
	if err := New(fork, Options{Store: got, Script: &Script{Entries: store.Journal, Original: store.Trials, Reuse: true, Until: 20}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := c.n.Load(); n != 30 {
		t.Errorf("the fork evaluated %d trials; want 30 (21-50)", n)
	}
	if want, have := trialKeys(store.Trials), trialKeys(got.Trials); !reflect.DeepEqual(want, have) {
		t.Errorf("the fork differs:\n%s\n---\n%s", strings.Join(want, "\n"), strings.Join(have, "\n"))
	}
	// After the point it searches by itself: a steer there takes effect in the fork only.
	fork2 := tableConfig(t, "regevo", 50, 1)
	e := New(fork2, Options{Script: &Script{Entries: store.Journal, Original: store.Trials, Reuse: true, Until: 20}, Observe: func(tr Trial) {}})
	errc := make(chan error, 1)
	go func() { errc <- e.Run(context.Background()) }()
	if err := testkit.Receive(t, errc, "the search to end"); err != nil {
		t.Fatal(err)
	}
	if s := e.Snapshot(); s.Done != 50 {
		t.Errorf("fork without store: %d done", s.Done)
	}
}

func TestSteerAppliedAtNextAskAndAudited(t *testing.T) {
	// Five trials done; the sixth is running.
	exp := tableConfig(t, "regevo", 40, 1)
	e, store := actWhileRunning(t, exp, 5, func(e *Engine) {
		steerSixth(t, e)
	})
	if exp.Config.Budget.Trials != 40 {
		t.Errorf("steering changed the caller's experiment: budget %d", exp.Config.Budget.Trials)
	}
	s := e.Snapshot()
	if s.Asked != 30 || len(store.Trials) != 30 {
		t.Errorf("budget steered to 30: %d asked, %d stored", s.Asked, len(store.Trials))
	}
	// Five refused when asked for, then the four that waited for the ask, the second
	// refused when it applied.
	if len(s.Steers) != 9 || s.Steers[6].Op != OpRefused || !strings.Contains(s.Steers[6].Arch, "population 3 is below the sample 4") {
		t.Fatalf("status steers %+v; want the seventh refused", s.Steers)
	}
	if p := s.Steers[7]; p.Op != OpSteer || p.Trial != 7 || p.Param != "population" || p.Old != 30 || p.New != 8 || p.Who != "carol" {
		t.Errorf("steer %+v; want population 30 -> 8 by carol at trial 7", p)
	}
	if len(s.Population) > 8 {
		t.Errorf("population of %d after steering it to 8", len(s.Population))
	}
	// The journal keeps the six refused changes for the audit.
	refused := 0
	for _, en := range store.Journal {
		refused += map[bool]int{true: 1}[en.Op == OpRefused]
	}
	if refused != 6 {
		t.Errorf("%d refused changes journalled, want 6", refused)
	}
	// The journal has both changes right before the ask of trial 7.
	for i, en := range store.Journal {
		if en.Op == OpSteer {
			next := store.Journal[i+1]
			if en.Trial != 7 || (next.Op != OpAsk && next.Op != OpSteer && next.Op != OpRefused) || en.Time.IsZero() {
				t.Errorf("audit entry %+v followed by %+v", en, next)
			}
		}
	}
	for _, k := range s.Knobs {
		if k.Name == "population" && k.Value != 8 {
			t.Errorf("knob population shows %v", k.Value)
		}
		if k.Name == "budget.trials" && (k.Value != 30 || k.Min != 30) {
			t.Errorf("knob budget.trials shows %v from %v; want 30 from 30 (all asked)", k.Value, k.Min)
		}
	}
	// Resuming from the last checkpoint keeps the steered values.
	cp := store.Checkpoints[len(store.Checkpoints)-1]
	if cp.Steered["population"] != 8 || cp.Steered["budget.trials"] != 30 {
		t.Errorf("checkpoint steered %v", cp.Steered)
	}
}

// steerSixth makes the changes of TestSteerAppliedAtNextAskAndAudited while trial 6
// runs, and checks that none is applied before the next ask.
func steerSixth(t *testing.T, e *Engine) {
	for _, c := range []struct {
		param string
		v     float64
		want  string
	}{
		{"temperature", 1, `no knob "temperature"`},
		{"population", 0, "population 0 must be in 1…"},
		{"sample", 2.5, "whole number"},
		{"budget.trials", 3, "budget.trials 3 must be in 6…"},
	} {
		if err := e.Steer("carol", c.param, c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("steer %s=%v: %v; want %q", c.param, c.v, err, c.want)
		}
	}
	// Population 8 under the sample of 10 is refused when asked for.
	if err := e.Steer("carol", "population", 8); err == nil || !strings.Contains(err.Error(), "population 8 is below the sample 10") {
		t.Errorf("population 8 under the sample 10: %v", err)
	}
	// After a change of the sample that waits for the next ask, population is judged
	// when it applies: 3 under the new sample of 4 is refused then, 8 is not.
	for _, c := range []struct {
		param string
		v     float64
	}{{"sample", 4}, {"population", 3}, {"population", 8}} {
		if err := e.Steer("carol", c.param, c.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Steer("carol", "budget.trials", 30); err != nil {
		t.Fatal(err)
	}
	// Not yet applied: trial 6 runs, trial 7 is not asked until 6 is told. The five
	// refused when asked for are recorded as refused, for the audit.
	s := e.Snapshot()
	refused := 0
	for _, en := range s.Steers {
		if en.Op != OpRefused {
			t.Fatalf("before the next ask, a change was applied: %+v", en)
		}
		refused++
	}
	if refused != 5 || s.Asked != 6 {
		t.Fatalf("before the next ask: %d refused (want 5), %d asked", refused, s.Asked)
	}
}

func TestSteerConstraintLimit(t *testing.T) {
	limit := medianParams(t)
	exp := constrainedConfig(t, "random", "{params: 2e6}", 40)
	_, store := actWhileRunning(t, exp, 10, func(e *Engine) {
		if err := e.Steer("dave", "constraints.params", limit); err != nil {
			t.Fatal(err)
		}
	})
	if exp.Limits[0].Max != 2e6 || exp.Config.Constraints.Params != 2e6 {
		t.Errorf("steering changed the caller's limits: %+v", exp.Limits)
	}
	at, over := uint64(0), 0
	for _, en := range store.Journal {
		if en.Op == OpSteer && en.Param == "constraints.params" && en.Old == 2e6 && en.New == limit && en.Who == "dave" {
			at = en.Trial
		}
	}
	if at == 0 {
		t.Fatalf("no audit entry for the limit in %+v", store.Journal)
	}
	for id, tr := range store.Trials {
		if id >= at && tr.Metrics["params"] > limit {
			t.Errorf("trial %d (after the limit fell to %g at trial %d) has %g params", id, limit, at, tr.Metrics["params"])
		}
		if id < at && tr.Metrics["params"] > limit {
			over++
		}
	}
	if over == 0 {
		t.Errorf("no trial before the change was over the new limit; the test shows nothing")
	}
}

// Raising the budget once it is spent, while the last trials still run, takes effect:
// no ask is coming to apply it at, so it applies at once.
func TestSteerRaisesASpentBudget(t *testing.T) {
	// Trial 5, the last of the budget, runs when the change comes.
	_, store := actWhileRunning(t, tableConfig(t, "regevo", 5, 2), 4, func(e *Engine) {
		if err := e.Steer("heidi", "budget.trials", 9); err != nil {
			t.Fatal(err)
		}
	})
	if len(store.Trials) != 9 {
		t.Errorf("%d trials after raising the budget to 9", len(store.Trials))
	}
}

// actWhileRunning runs exp holding each trial at a gate: it lets n trials through,
// calls act while the next one is held, then lets the search run to its end. However
// fast the evaluator, act comes mid-run.
func actWhileRunning(t *testing.T, exp *Experiment, n int, act func(e *Engine)) (*Engine, *enginetest.MemStore) {
	t.Helper()
	g := &gate{Evaluator: exp.Evaluator, started: make(chan string, 100), release: make(chan struct{})}
	exp.Evaluator = g
	store := &enginetest.MemStore{}
	e := New(exp, Options{Store: store})
	errc := make(chan error, 1)
	go func() { errc <- e.Run(context.Background()) }()
	for i := range n {
		testkit.Receive(t, g.started, fmt.Sprintf("trial %d to start", i+1))
		testkit.Send(t, g.release, struct{}{}, fmt.Sprintf("trial %d's release", i+1))
	}
	testkit.Receive(t, g.started, fmt.Sprintf("trial %d to start", n+1))
	act(e)
	if err := g.releaseUntil(t, errc); err != nil {
		t.Fatal(err)
	}
	return e, store
}

func TestCompareTrialsNamesEveryDifference(t *testing.T) {
	orig := map[uint64]Trial{
		1: {ID: 1, Arch: "a", Origin: "regevo", State: Done, Metrics: map[string]float64{"acc": 90, "train_seconds": 3}},
		2: {ID: 2, Arch: "b", Origin: "regevo", State: Done, Metrics: map[string]float64{"acc": 80}},
		3: {ID: 3, Arch: "c", Origin: "regevo", State: Done},
	}
	same := map[uint64]Trial{
		1: {ID: 1, Arch: "a", Origin: "regevo", State: Done, Metrics: map[string]float64{"acc": 90, "train_seconds": 9}}, // wall-clock differs: not a difference
		2: {ID: 2, Arch: "b", Origin: "regevo", State: Done, Metrics: map[string]float64{"acc": 80}},
		3: {ID: 3, Arch: "c", Origin: "regevo", State: Done},
	}
	if d := CompareTrials(orig, same); len(d) != 0 {
		t.Fatalf("a faithful replay differs: %v", d)
	}
	other := map[uint64]Trial{
		1: {ID: 1, Arch: "z", Origin: "regevo", State: Done, Metrics: map[string]float64{"acc": 90}},
		2: {ID: 2, Arch: "b", Origin: "regevo", State: Done, Metrics: map[string]float64{"acc": 81}},
	}
	d := CompareTrials(orig, other)
	want := []string{"trial 1: arch z, was a", "trial 2: acc 81, was 80", "trial 3: not replayed"}
	if !slices.Equal(d, want) {
		t.Fatalf("differences %q, want %q", d, want)
	}
}
