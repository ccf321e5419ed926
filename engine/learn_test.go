package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	. "cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
)

// Small enough to train in seconds: a 4-channel supernet, one cell a stage.
const oneShotSrc = `
name: oneshot
seed: 5
space: {name: nb201, input: [1, 28, 28], classes: 10}
strategy: random
evaluator: {name: oneshot, channels: 4, train: 640, val: 128, score_size: 128, epochs: 3, batch: 32, lr: 0.1, recalibrate: 4, seed: 3}
budget: {trials: 6}
parallelism: 2
`

const dartsSrc = `
name: darts
seed: 5
space: {name: nb201}
strategy: {name: darts, channels: 2, train: 256, val: 128, epochs: 2, candidates: 3}
evaluator: params
budget: {trials: 10}
`

// runUntilReport runs exp and stops it as soon as the first learner report is out,
// in the middle of the next epoch; it returns the last checkpoint and stored trials.
func runUntilReport(t *testing.T, exp *Experiment) (*Checkpoint, map[uint64]Trial) {
	t.Helper()
	store := &enginetest.MemStore{}
	e := New(exp, Options{Store: store})
	sub := e.Subscribe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	for ev := range sub.C {
		if ev.Kind == LearnerReport {
			time.Sleep(50 * time.Millisecond) // into the next epoch
			cancel()
			break
		}
	}
	if err := testkit.Receive(t, done, "the search to end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v", err)
	}
	cp := store.Resumable(len(store.Checkpoints) - 1)
	return &cp, store.Trials
}

// The one-shot evaluator trains its supernet before the first trial, reports each
// epoch, scores every arch well above chance on average, keeps its state in the
// checkpoint, and a search stopped mid-training resumes to the same trials.
func TestOneShotEvaluatorSearch(t *testing.T) {
	store := &enginetest.MemStore{}
	exp := enginetest.Build(t, oneShotSrc)
	var log []string
	e := New(exp, Options{Store: store, Observe: func(tr Trial) { log = append(log, tr.Arch+" "+strings.Join(metricList(tr), " ")) }})
	sub := e.Subscribe()
	var events []Event
	got := make(chan struct{})
	go func() {
		for ev := range sub.C {
			events = append(events, ev)
		}
		close(got)
	}()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.Wait(t, got, "the event stream to close")
	var reports []int
	firstTrial := -1
	for i, ev := range events {
		if ev.Kind == LearnerReport {
			reports = append(reports, ev.Report.Step)
			if ev.Report.Source != "oneshot" || ev.Report.Values["train_loss"] <= 0 {
				t.Errorf("report %+v", ev.Report)
			}
		}
		if ev.Kind == TrialStarted && firstTrial < 0 {
			firstTrial = i
		}
	}
	if !slices.Equal(reports, []int{1, 2, 3}) {
		t.Errorf("reports %v, want epochs 1 to 3", reports)
	}
	if firstTrial < 0 || events[firstTrial].Seq < 2 || slices.IndexFunc(events, func(ev Event) bool { return ev.Kind == LearnerReport && ev.Report.Step == 3 }) > firstTrial {
		t.Error("a trial started before the supernet was trained")
	}
	var sum float64
	for _, tr := range store.Trials {
		acc := tr.Metrics["oneshot_accuracy"]
		if tr.State != Done || acc < 0 || acc > 100 || tr.Metrics["params"] <= 0 {
			t.Errorf("trial %d: %v %v", tr.ID, tr.State, tr.Metrics)
		}
		sum += acc
	}
	if mean := sum / float64(len(store.Trials)); mean < 20 {
		t.Errorf("mean one-shot accuracy %.1f%%: the supernet learned little (chance is 10%%)", mean)
	}
	if cp := store.Checkpoints[len(store.Checkpoints)-1]; len(cp.Evaluator) == 0 || strings.Contains(string(cp.Evaluator), `"supernet"`) {
		t.Errorf("evaluator state in the checkpoint: %.80s; want it without the supernet's weights", cp.Evaluator)
	}
	withWeights := 0
	for _, cp := range store.Checkpoints {
		if cp.Large["evaluator"] != nil {
			withWeights++
		}
	}
	if withWeights != 3 || len(store.Checkpoints) <= 3 {
		t.Errorf("the supernet's weights written in %d of %d commits; want 3, once an epoch", withWeights, len(store.Checkpoints))
	}
	if st := e.Snapshot(); len(st.Reports) != 3 || st.Learning != "" {
		t.Errorf("status reports %d, learning %q", len(st.Reports), st.Learning)
	}

	// Stopped mid-training, resumed: the same trials, the first epoch not run again.
	cp, stored := runUntilReport(t, enginetest.Build(t, oneShotSrc))
	var again []string
	resumed := New(enginetest.Build(t, oneShotSrc), Options{Store: &enginetest.MemStore{}, Resume: cp, Stored: stored,
		Observe: func(tr Trial) { again = append(again, tr.Arch+" "+strings.Join(metricList(tr), " ")) }})
	rsub := resumed.Subscribe()
	var steps []int
	rdone := make(chan struct{})
	go func() {
		for ev := range rsub.C {
			if ev.Kind == LearnerReport {
				steps = append(steps, ev.Report.Step)
			}
		}
		close(rdone)
	}()
	if err := resumed.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-rdone
	if !slices.Equal(steps, []int{2, 3}) {
		t.Errorf("resumed run reported epochs %v, want only 2 and 3", steps)
	}
	if !slices.Equal(again, log) {
		t.Errorf("resumed trials differ:\n%s\nwant\n%s", strings.Join(again, "\n"), strings.Join(log, "\n"))
	}
}

// metricList is the trial's scores without timings, which differ run to run.
func metricList(tr Trial) []string {
	var out []string
	for _, k := range []string{"oneshot_accuracy", "params", "flops"} {
		out = append(out, fmt.Sprintf("%s=%v", k, tr.Metrics[k]))
	}
	return out
}

// DARTS through the engine: it trains, reports alphas each epoch, asks its derived
// arch and the likeliest neighbours, and resumes mid-training to the same result.
func TestDartsSearch(t *testing.T) {
	store := &enginetest.MemStore{}
	want := enginetest.Run(t, enginetest.Build(t, dartsSrc), Options{Store: store})
	if len(want) != 3 {
		t.Fatalf("trials %v, want the 3 candidates", want)
	}
	for _, l := range want {
		if !strings.Contains(l, " darts ") {
			t.Errorf("trial %s not asked by darts", l)
		}
	}
	cp, stored := runUntilReport(t, enginetest.Build(t, dartsSrc))
	got := enginetest.Run(t, enginetest.Build(t, dartsSrc), Options{Store: &enginetest.MemStore{}, Resume: cp, Stored: stored})
	if !slices.Equal(got, want) {
		t.Errorf("resumed: %v, want %v", got, want)
	}
}

// A pause lets the epoch under way finish and starts no other; a pause that cancels
// stops the epoch, which runs again on resume; either way the search ends with the
// trials of an uninterrupted one.
func TestLearnerPauses(t *testing.T) {
	want := enginetest.Run(t, enginetest.Build(t, dartsSrc), Options{Store: &enginetest.MemStore{}})
	exp := enginetest.Build(t, dartsSrc)
	var got []string
	e := New(exp, Options{Store: &enginetest.MemStore{}, Observe: func(tr Trial) {
		got = append(got, fmt.Sprintf("%d %s %s %v", tr.ID, tr.Arch, tr.Origin, tr.Metrics))
	}})
	sub := e.Subscribe()
	done := make(chan error, 1)
	go func() { done <- e.Run(context.Background()) }()
	enginetest.WaitState(t, e, Searching)
	if err := e.Pause(false); err != nil {
		t.Fatal(err)
	}
	for ev := range sub.C {
		if ev.Kind == LearnerReport {
			break
		}
	}
	testkit.WaitFor(t, "the epoch to end", func() bool { return e.Snapshot().Learning == "" })
	// A command round trip: the loop has since been where it starts an epoch.
	if err := e.Pause(false); err != nil {
		t.Fatal(err)
	}
	if st := e.Snapshot(); st.Learning != "" || st.State != Paused || len(st.Reports) != 1 {
		t.Fatalf("paused after an epoch: learning %q, state %s, %d reports", st.Learning, st.State, len(st.Reports))
	}
	if err := e.Resume(); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the second epoch", func() bool { return e.Snapshot().Learning != "" })
	if err := e.Pause(true); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the cancelled epoch to end", func() bool { return e.Snapshot().Learning == "" })
	if n := len(e.Snapshot().Reports); n != 1 {
		t.Errorf("a cancelled epoch reported: %d reports", n)
	}
	if err := e.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := testkit.Receive(t, done, "the search to end"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("trials %v, want %v", got, want)
	}
}
