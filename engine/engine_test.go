package engine_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
	"cellar/internal/testtable"
	"cellar/spaces"
	"cellar/strategies"
)

// jitter wraps an evaluator with random delays, so trials finish out of order.
type jitter struct {
	Evaluator
	mu  sync.Mutex
	rng *rand.Rand
	max time.Duration
}

func (j *jitter) Evaluate(ctx context.Context, job Job, p func(Progress)) (Outcome, error) {
	j.mu.Lock()
	d := time.Duration(j.rng.Int64N(int64(j.max)))
	j.mu.Unlock()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
	return j.Evaluator.Evaluate(ctx, job, p)
}

func tableConfig(t testing.TB, strategy string, trials, parallel int) *Experiment {
	t.Helper()
	return tableConfigWith(t, strategy, trials, parallel, "")
}

// tableConfigWith is tableConfig with extra lines of YAML (e.g. dedupe: function).
func tableConfigWith(t testing.TB, strategy string, trials, parallel int, extra string) *Experiment {
	t.Helper()
	path := testtable.NB201(t, testtable.Smooth)
	budget := fmt.Sprintf("{trials: %d}", trials)
	if strategy == "predictor" { // small, so that the tests' many rounds stay quick
		strategy += ", candidates: 30, k: 5, ensemble: 2, epochs: 15, hidden: [16]"
	}
	if trials == 0 {
		budget = "{time: 50ms}"
	}
	src := fmt.Sprintf(`
name: test
seed: 11
space: {name: nb201}
strategy: {name: %s}
evaluator: {name: table, path: %s}
objectives: [{name: test_accuracy, direction: max}]
budget: %s
parallelism: %d
%s
`, strategy, path, budget, parallel, extra)
	return enginetest.Build(t, src)
}

// tableStrategies are the strategies that search a table for a budget of trials:
// all but darts, which trains a supernet and asks a few derived archs (learn_test.go),
// and compound, which scales one arch beyond what a table holds (compound_test.go).
func tableStrategies() []string {
	return slices.DeleteFunc(strategies.Names(), func(s string) bool { return s == "darts" || s == "compound" })
}

// tableRun is one case of a sweep over strategies and parallelism on a table, of an
// experiment made with the current defaults (dedupe by function, the strategies'
// current options) when current is set, else of one made before them.
type tableRun struct {
	strategy string
	parallel int
	current  bool
}

func (c tableRun) String() string {
	if c.current {
		return fmt.Sprintf("%s/parallel-%d/defaults-%d", c.strategy, c.parallel, CurrentDefaults)
	}
	return fmt.Sprintf("%s/parallel-%d", c.strategy, c.parallel)
}

func (c tableRun) config(t testing.TB, trials int) *Experiment {
	if c.current {
		return tableConfigWith(t, c.strategy, trials, c.parallel, fmt.Sprintf("defaults: %d", CurrentDefaults))
	}
	return tableConfig(t, c.strategy, trials, c.parallel)
}

// tableRuns is every table strategy at each of the parallelisms, regevo at the first
// one leading: -short runs that case alone.
func tableRuns(parallel ...int) []tableRun {
	cases := []tableRun{{"regevo", parallel[0], false}}
	for _, s := range tableStrategies() {
		for _, p := range parallel {
			if s != "regevo" || p != parallel[0] {
				cases = append(cases, tableRun{s, p, false})
			}
			cases = append(cases, tableRun{s, p, true})
		}
	}
	return cases
}

func TestSameSeedSameTrials(t *testing.T) {
	testkit.Sweep(t, tableRuns(4, 1), nil, func(t *testing.T, c tableRun) {
		var logs [2][]string
		for i := range logs {
			exp := c.config(t, 120)
			exp.Evaluator = &jitter{Evaluator: exp.Evaluator, rng: rand.New(rand.NewPCG(uint64(i), 0)), max: 2 * time.Millisecond}
			logs[i] = enginetest.Run(t, exp, Options{Store: &enginetest.MemStore{}})
		}
		// Duplicates (dedupe) cost no trial of the budget; a strategy that asks only
		// duplicates (REINFORCE's controller, collapsed) ends the search.
		n := len(logs[0]) - strings.Count(strings.Join(logs[0], "\n"), "duplicate of")
		converged := len(logs[0]) >= MaxDuplicateRun && !slices.ContainsFunc(logs[0][len(logs[0])-MaxDuplicateRun:], func(l string) bool { return !strings.Contains(l, "duplicate of") })
		if n != 120 && !(c.current && n < 120 && converged) {
			t.Fatalf("%d trials evaluated, want 120", n)
		}
		if a, b := strings.Join(logs[0], "\n"), strings.Join(logs[1], "\n"); a != b {
			t.Errorf("two runs with one seed differ (trials finished in different orders)")
		}
	})
}

func TestEveryTrialCommittedBeforeTold(t *testing.T) {
	exp := tableConfig(t, "regevo", 60, 4)
	store := &enginetest.MemStore{}
	told := 0
	opt := Options{Store: store, Observe: func(tr Trial) {
		store.Lock()
		defer store.Unlock()
		if _, ok := store.Trials[tr.ID]; !ok {
			t.Errorf("trial %d told before it was committed", tr.ID)
		}
		told++
	}}
	if err := New(exp, opt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if told != 60 || len(store.Trials) != 60 {
		t.Fatalf("told %d, stored %d; want 60", told, len(store.Trials))
	}
	last := store.Checkpoints[len(store.Checkpoints)-1]
	if !last.Finished || len(last.Pending) != 0 || last.NextID != 61 {
		t.Errorf("final checkpoint %+v", last)
	}
}

// slowStore is a store whose commits take a while, as a disk's fsync does.
type slowStore struct {
	*enginetest.MemStore
	wait time.Duration
}

func (s slowStore) Commit(trials []Trial, cp Checkpoint) error {
	time.Sleep(s.wait)
	return s.MemStore.Commit(trials, cp)
}

// Trials that finish together share a commit: with fast evaluations and commits
// that take a millisecond, a search of parallelism 4 commits about 4 trials at a
// time (before, each commit took what happened to have arrived), still telling the
// strategy of each only after its commit, and asking the same trials in the same
// order as a search that stores nothing.
func TestTrialsThatFinishTogetherShareACommit(t *testing.T) {
	store := slowStore{&enginetest.MemStore{}, time.Millisecond}
	var told []string
	opt := Options{Store: store, Observe: func(tr Trial) {
		store.Lock()
		defer store.Unlock()
		if _, ok := store.Trials[tr.ID]; !ok {
			t.Errorf("trial %d told before it was committed", tr.ID)
		}
		told = append(told, tr.Arch)
	}}
	if err := New(tableConfig(t, "regevo", 200, 4), opt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if per := float64(len(store.Trials)) / float64(store.Commits); per < 2.5 {
		t.Errorf("%d trials in %d commits: %.2f a commit; trials that finish together should share one", len(store.Trials), store.Commits, per)
	}
	var bare []string
	if err := New(tableConfig(t, "regevo", 200, 4), Options{Observe: func(tr Trial) { bare = append(bare, tr.Arch) }}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(told, bare) {
		t.Error("grouping commits changed the trials or their order")
	}
	// CommitEach, the benchmarks' baseline, commits one trial a transaction and
	// searches the same.
	each := slowStore{&enginetest.MemStore{}, time.Millisecond}
	var eachTold []string
	if err := New(tableConfig(t, "regevo", 200, 4), Options{Store: each, CommitEach: true, Observe: func(tr Trial) { eachTold = append(eachTold, tr.Arch) }}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if each.Commits < len(each.Trials) {
		t.Errorf("CommitEach: %d trials in %d commits", len(each.Trials), each.Commits)
	}
	if !slices.Equal(eachTold, bare) {
		t.Error("committing each trial alone changed the trials or their order")
	}
}

// TestResumeFromEveryCheckpoint restarts a search from checkpoints taken along the way
// and checks that it asks exactly the trials the uninterrupted search asked.
func TestResumeFromEveryCheckpoint(t *testing.T) {
	testkit.Sweep(t, tableRuns(3, 1), nil, func(t *testing.T, c tableRun) {
		ref := c.config(t, 80)
		store := &enginetest.MemStore{}
		want := enginetest.Run(t, ref, Options{Store: store})
		checkpoints := []int{len(store.Checkpoints) / 2, 1, len(store.Checkpoints) / 3, len(store.Checkpoints) - 2}
		if testing.Short() {
			checkpoints = checkpoints[:1]
		}
		for _, at := range checkpoints {
			// Either every pending trial's result is stored, or every other one is
			// lost and must be evaluated again.
			for _, drop := range []bool{false, true} {
				cp := store.Resumable(at)
				// Trials below NextID as stored (the table evaluator is deterministic,
				// so a pending trial stored later holds what it would have held then).
				stored := map[uint64]Trial{}
				for id, tr := range store.Trials {
					if id < cp.NextID {
						stored[id] = tr
					}
				}
				for i, p := range cp.Pending {
					if drop && i%2 == 1 {
						delete(stored, p.ID)
					}
				}
				exp := c.config(t, 80)
				got := enginetest.Run(t, exp, Options{Store: &enginetest.MemStore{}, Resume: &cp, Stored: stored})
				// The resumed run tells the pending trials and all after them.
				first := cp.NextID
				if len(cp.Pending) > 0 {
					first = cp.Pending[0].ID
				}
				if strings.Join(got, "\n") != strings.Join(want[first-1:], "\n") {
					t.Errorf("resumed at checkpoint %d (next id %d, %d pending, drop %v) diverges", at, cp.NextID, len(cp.Pending), drop)
				}
			}
		}
	})
}

func TestMissingArchFailsTrialSearchGoesOn(t *testing.T) {
	// A table without a third of its archs: those trials fail with the reason, the
	// rest go on.
	full, err := os.ReadFile(testtable.NB201(t, testtable.Smooth))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(full), "\n")
	partial := lines[0]
	for i, l := range lines[1:] {
		if i%3 != 0 {
			partial += l
		}
	}
	exp := enginetest.Build(t, "seed: 11\nspace: nb201\nstrategy: random\nevaluator: {name: table, path: "+testtable.Write(t, partial)+"}\nbudget: {trials: 30}\nparallelism: 2\n")
	store := &enginetest.MemStore{}
	enginetest.Run(t, exp, Options{Store: store})
	failed := 0
	for _, tr := range store.Trials {
		if tr.State == Failed {
			failed++
			if !strings.Contains(tr.Error, "is not in table") {
				t.Errorf("trial %d failed with %q", tr.ID, tr.Error)
			}
		}
	}
	if len(store.Trials) != 30 || failed == 0 || failed == 30 {
		t.Errorf("%d trials, %d failed", len(store.Trials), failed)
	}
}

type panicky struct{ Evaluator }

func (p panicky) Evaluate(ctx context.Context, job Job, f func(Progress)) (Outcome, error) {
	a := job.Arch
	if strings.Contains(a.String(), "none~0|+|none") {
		panic("boom")
	}
	return p.Evaluator.Evaluate(ctx, job, f)
}

func TestPanickingEvaluatorFailsOnlyItsTrial(t *testing.T) {
	exp := tableConfig(t, "random", 200, 2)
	exp.Evaluator = panicky{exp.Evaluator}
	store := &enginetest.MemStore{}
	enginetest.Run(t, exp, Options{Store: store})
	panics := 0
	for _, tr := range store.Trials {
		if strings.Contains(tr.Error, "panicked: boom") {
			panics++
		}
	}
	if len(store.Trials) != 200 || panics == 0 {
		t.Errorf("%d trials, %d panicked", len(store.Trials), panics)
	}
}

func TestStoreFailureStopsSearch(t *testing.T) {
	exp := tableConfig(t, "random", 50, 1)
	err := New(exp, Options{Store: &enginetest.MemStore{Fail: errors.New("disk full")}}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("run: %v", err)
	}
}

// gate blocks every evaluation until released, so a test can hold trials running.
type gate struct {
	Evaluator
	started chan string
	release chan struct{}
}

func (g *gate) Evaluate(ctx context.Context, job Job, p func(Progress)) (Outcome, error) {
	a := job.Arch.String()
	if job.Hand {
		a += " (hand)"
	}
	g.started <- a
	select {
	case <-g.release:
	case <-ctx.Done():
		return Outcome{}, ctx.Err()
	}
	return g.Evaluator.Evaluate(ctx, job, p)
}

// releaseUntil lets every trial through until the search ends, and returns how it
// ended (errc is its Run's).
func (g *gate) releaseUntil(t *testing.T, errc <-chan error) error {
	t.Helper()
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		for {
			select {
			case <-g.started:
			case g.release <- struct{}{}:
			case <-ended:
				return
			}
		}
	}()
	return testkit.Receive(t, errc, "the search to end")
}

func TestPauseResumeAndInject(t *testing.T) {
	exp := tableConfig(t, "regevo", 12, 2)
	g := &gate{Evaluator: exp.Evaluator, started: make(chan string, 100), release: make(chan struct{})}
	exp.Evaluator = g
	store := &enginetest.MemStore{}
	e := New(exp, Options{Store: store})
	sub := e.Subscribe()
	errc := make(chan error, 1)
	go func() { errc <- e.Run(context.Background()) }()
	testkit.Receive(t, g.started, "the first trial to start")
	testkit.Receive(t, g.started, "the second trial to start")
	// Pause, letting the two running trials finish: no third trial starts.
	if err := e.Pause(false); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitState(t, e, Paused)
	testkit.Send(t, g.release, struct{}{}, "the first trial's release")
	testkit.Send(t, g.release, struct{}{}, "the second trial's release")
	// Both finishes handled, then a command round trip: the loop has since been
	// where it starts trials, and started none.
	testkit.WaitFor(t, "the two released trials to be stored", func() bool { return e.Snapshot().Done == 2 })
	if err := e.Pause(false); err != nil {
		t.Fatal(err)
	}
	if st := e.Snapshot(); len(st.Running) != 0 || st.Asked != 2 {
		t.Fatalf("while paused: %d running, %d asked", len(st.Running), st.Asked)
	}
	if s := e.Snapshot(); s.Done != 2 || s.Asked != 2 {
		t.Fatalf("paused: %d done, %d asked; want 2, 2", s.Done, s.Asked)
	}
	// A hand trial runs even while paused, with origin hand and its parent.
	hand, _ := exp.Space.Parse([]byte("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"))
	if err := e.Inject(hand, 1); err != nil {
		t.Fatal(err)
	}
	if a := testkit.Receive(t, g.started, "the hand trial to start"); a != hand.String()+" (hand)" {
		t.Fatalf("started %s, want the hand trial, marked so for the evaluator", a)
	}
	testkit.Send(t, g.release, struct{}{}, "the hand trial's release")
	// Pause with cancel: resume, let two start, pause cancelling them; they run again
	// after resume under the same ids.
	if err := e.Resume(); err != nil {
		t.Fatal(err)
	}
	a1, a2 := testkit.Receive(t, g.started, "a trial to start after resume"), testkit.Receive(t, g.started, "a second trial to start after resume")
	if err := e.Pause(true); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitState(t, e, Paused)
	if err := e.Resume(); err != nil {
		t.Fatal(err)
	}
	b1, b2 := testkit.Receive(t, g.started, "a cancelled trial to run again"), testkit.Receive(t, g.started, "the other cancelled trial to run again")
	if a1+a2 != b1+b2 && a1+a2 != b2+b1 {
		t.Fatalf("cancelled trials %s, %s; re-run %s, %s", a1, a2, b1, b2)
	}
	// Let the rest through until the search ends.
	if err := g.releaseUntil(t, errc); err != nil {
		t.Fatal(err)
	}
	if len(store.Trials) != 12 {
		t.Fatalf("%d trials stored, want 12", len(store.Trials))
	}
	h := store.Trials[3]
	if h.Origin != OriginHand || h.Parent != 1 || h.Arch != hand.String() || h.State != Done {
		t.Errorf("hand trial stored as %+v", h)
	}
	var cancelled, paused int
	for ev := range sub.C {
		if ev.Kind == TrialFinished && ev.Trial.State == Cancelled {
			cancelled++
		}
		if ev.Kind == StateChanged && ev.State == Paused {
			paused++
		}
	}
	if cancelled != 2 || paused != 2 {
		t.Errorf("events: %d cancelled trials, %d pauses; want 2, 2", cancelled, paused)
	}
	if err := e.Inject(hand, 0); err == nil {
		t.Error("inject after the search ended was accepted")
	}
}

func TestInjectRejectsInvalidArch(t *testing.T) {
	exp := tableConfig(t, "random", 5, 1)
	e := New(exp, Options{})
	cell, _ := spaces.NewCell(spaces.DefaultCell)
	bad := cell.Sample(rand.New(rand.NewPCG(1, 1)))
	if err := e.Inject(bad, 0); err == nil {
		t.Fatal("a cell arch was accepted by an nb201 search")
	}
}

func TestStopKeepsPendingForResume(t *testing.T) {
	exp := tableConfig(t, "regevo", 50, 3)
	g := &gate{Evaluator: exp.Evaluator, started: make(chan string, 100), release: make(chan struct{})}
	exp.Evaluator = g
	store := &enginetest.MemStore{}
	ctx, cancel := context.WithCancel(context.Background())
	e := New(exp, Options{Store: store})
	errc := make(chan error, 1)
	go func() { errc <- e.Run(ctx) }()
	for i := 0; i < 3; i++ {
		testkit.Receive(t, g.started, fmt.Sprintf("trial %d of 3 to start", i+1))
	}
	testkit.Send(t, g.release, struct{}{}, "a trial's release")
	testkit.WaitFor(t, "the released trial to be stored", func() bool { return e.Snapshot().Done > 0 })
	cancel()
	if err := testkit.Receive(t, errc, "the search to end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	if st := e.Snapshot().State; st != Stopped {
		t.Errorf("state %s after an interrupted run, want %s", st, Stopped)
	}
	last := store.Checkpoints[len(store.Checkpoints)-1]
	if len(store.Trials) != 1 || len(last.Pending) != 3 || last.Finished {
		t.Fatalf("stored %d trials; checkpoint pending %d finished %v", len(store.Trials), len(last.Pending), last.Finished)
	}
	for _, tr := range store.Trials {
		if tr.State != Done {
			t.Errorf("trial %d stored as %s", tr.ID, tr.State)
		}
	}
}

func TestWallTimeBudget(t *testing.T) {
	exp := tableConfig(t, "random", 0, 2)
	exp.Evaluator = &jitter{Evaluator: exp.Evaluator, rng: rand.New(rand.NewPCG(1, 1)), max: 3 * time.Millisecond}
	store := &enginetest.MemStore{}
	if err := New(exp, Options{Store: store}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := store.Checkpoints[len(store.Checkpoints)-1]
	if !last.Finished || len(store.Trials) == 0 {
		t.Fatalf("%d trials, finished %v", len(store.Trials), last.Finished)
	}
}

func TestSubscribersSeeEveryState(t *testing.T) {
	exp := tableConfig(t, "random", 20, 2)
	e := New(exp, Options{Store: &enginetest.MemStore{}})
	subs := []*Subscription{e.Subscribe(), e.Subscribe()}
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, s := range subs {
		counts := map[EventKind]int{}
		for ev := range s.C {
			counts[ev.Kind]++
		}
		if counts[TrialQueued] != 20 || counts[TrialStarted] != 20 || counts[TrialFinished] != 20 {
			t.Errorf("subscriber %d: %v", i, counts)
		}
	}
}

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func TestCommandsOutsideARun(t *testing.T) {
	exp := tableConfig(t, "random", 3, 1)
	e := New(exp, Options{})
	if err := e.Pause(false); err == nil {
		t.Error("pause before Run was accepted")
	}
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
	}
	if err := e.Resume(); err == nil {
		t.Error("resume after the run was accepted")
	}
}

func TestStatusShowsPopulationAndProgress(t *testing.T) {
	exp := tableConfig(t, "regevo", 60, 2)
	exp.Evaluator = &reporting{exp.Evaluator}
	e := New(exp, Options{})
	sub := e.Subscribe()
	errc := make(chan error, 1)
	go func() { errc <- e.Run(context.Background()) }()
	sawProgress := false
	for ev := range sub.C {
		if ev.Kind == TrialProgress {
			if _, ok := e.Snapshot().Progress[ev.Trial.ID]; ok {
				sawProgress = true
			}
		}
	}
	if err := testkit.Receive(t, errc, "the search to end"); err != nil {
		t.Fatal(err)
	}
	s := e.Snapshot()
	if !sawProgress {
		t.Error("no running trial's progress was in the status")
	}
	if len(s.Population) != 30 { // regevo's default population, full after 60 trials
		t.Fatalf("population of %d, want 30", len(s.Population))
	}
	for _, m := range s.Population {
		if m.Trial < 31 || m.Arch == "" {
			t.Fatalf("member %+v: want one of the 30 newest trials", m)
		}
	}
	if len(s.Progress) != 0 || len(s.Running) != 0 {
		t.Errorf("finished search still shows %d running, %d progress", len(s.Running), len(s.Progress))
	}
}

// reporting reports one progress event per evaluation.
type reporting struct{ Evaluator }

func (r *reporting) Evaluate(ctx context.Context, job Job, p func(Progress)) (Outcome, error) {
	p(Progress{Epoch: 1, Metrics: map[string]float64{"loss": 0.5}})
	time.Sleep(time.Millisecond)
	return r.Evaluator.Evaluate(ctx, job, p)
}

func TestTiesGoToTheLowestTrialID(t *testing.T) {
	table := testtable.NB201(t, testtable.Convs)
	src := fmt.Sprintf("name: ties\nseed: 3\nspace: {name: nb201}\nstrategy: {name: random}\nevaluator: {name: table, path: %s}\nbudget: {trials: 150}\nparallelism: 3\n", table)
	store := &enginetest.MemStore{}
	enginetest.Run(t, enginetest.Build(t, src), Options{Store: store})
	// The lowest id among the trials of the top score.
	var top float64
	var want uint64
	for id, tr := range store.Trials {
		v := tr.Metrics["test_accuracy"]
		if v > top || v == top && id < want {
			top, want = v, id
		}
	}
	tied := 0
	for _, tr := range store.Trials {
		if tr.Metrics["test_accuracy"] == top {
			tied++
		}
	}
	if tied < 3 {
		t.Fatalf("only %d trials share the top score: the test needs ties", tied)
	}
	// A resume from a late checkpoint counts the stored trials (a map) again: the best
	// must be the same every time.
	cp := store.Resumable(len(store.Checkpoints) - 2)
	stored := map[uint64]Trial{}
	for id, tr := range store.Trials {
		if id < cp.NextID {
			stored[id] = tr
		}
	}
	for i := range 8 {
		eng := New(enginetest.Build(t, src), Options{Store: &enginetest.MemStore{}, Resume: &cp, Stored: stored})
		if err := eng.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if best := eng.Snapshot().Best; best == nil || best.ID != want {
			t.Fatalf("resume %d: best trial %v, want %d (the lowest id of the %d tied at %g)", i, best, want, tied, top)
		}
	}
}

// wrapping hands its work to another evaluator, as the remote queue does.
type wrapping struct{ Evaluator }

func (w wrapping) Unwrap() Evaluator { return w.Evaluator }

// ladder is a Laddered evaluator.
type ladder struct{ Evaluator }

func (ladder) RungEvaluators() []string { return []string{"zerocost", "table"} }

// An optional interface of the experiment's evaluator is found through wrappers, and
// not where there is none.
func TestAsFindsAnInterfaceThroughWrappers(t *testing.T) {
	exp := tableConfig(t, "random", 5, 1)
	if l, ok := As[Laddered](wrapping{wrapping{ladder{exp.Evaluator}}}); !ok || len(l.RungEvaluators()) != 2 {
		t.Errorf("a cascade behind two wrappers not found: %v", ok)
	}
	if _, ok := As[Laddered](wrapping{exp.Evaluator}); ok {
		t.Error("a table evaluator taken for a cascade")
	}
}
