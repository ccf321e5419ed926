// Package engine runs experiments: it asks a strategy for candidates, evaluates them
// on a pool of workers, stores each finished trial and tells the strategy, and
// publishes an event for every change. It knows nothing of the TUI or of bbolt.
package engine

import (
	"cellar/learning"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"cellar/spaces"
	"cellar/strategies"
)

// Store keeps finished trials and checkpoints. Commit must make both durable, in one
// transaction, before it returns: the engine tells the strategy about a trial only
// after its commit, so no strategy ever learns of a trial a crash could lose.
type Store interface {
	Commit(trials []Trial, cp Checkpoint) error
}

// Options are how an engine is run, as opposed to what it runs (the Experiment).
type Options struct {
	// Experiment is the stored experiment's id, told to evaluators in each Job.
	Experiment uint64
	// Dir is a directory of the experiment's own, beside its store, for the files
	// evaluators keep (told in each Job); empty when the search stores nothing.
	Dir   string
	Store Store // nil keeps nothing (bench mode)
	// Resume continues from a checkpoint. Stored holds the experiment's stored final
	// trials: those among the checkpoint's Pending are told without being evaluated
	// again, and all of them count in the Status.
	Resume *Checkpoint
	Stored map[uint64]Trial
	// Observe, when set, is called with every final trial in trial order, as the
	// strategy is told of it, on the engine's goroutine.
	Observe func(Trial)
	// Script, when set, replays a journal (see Script).
	Script *Script
	// Simulate, when set, runs the search on a simulated clock (see SimTime): the
	// time budget and the status's Elapsed are simulated seconds.
	Simulate *SimTime
	// Steered are the steering entries of the runs before a resume, for displays
	// (the reward curve's markers); Status.Steers starts with them.
	Steered []Entry
	// CommitEach commits every trial in a transaction of its own, as the engine did
	// before it gathered trials that finish together: the baseline group commit is
	// measured against (bench/throughput.sh). Nothing else sets it.
	CommitEach bool
}

// Status is a snapshot of a search for display.
type Status struct {
	Name    string
	State   RunState
	Asked   int // trials asked for so far (ids 1..Asked)
	Done    int
	Failed  int
	Stopped int // done, but stopped early (counted in Done too)
	// Duplicates are done trials that took an earlier trial's outcome (Config.Dedupe),
	// counted in Done too.
	Duplicates int
	// Failure is the commonest reason trials failed for, nil while none has.
	Failure  *Failure
	Full     int // final and not stopped early: what Budget.Final counts
	Running  []Trial
	Progress map[uint64]Progress // the latest report of each running trial
	// Population is the strategy's current population (regevo's living members,
	// evolution's evaluated generation), for strategies that keep one.
	Population []Member
	// Front is the Pareto front of the done trials over all objectives (with two or
	// more), as trial ids, ascending.
	Front []uint64
	// Learning names the strategy or evaluator training its own model (an epoch is
	// under way); Reports are the learners' reports so far.
	Learning  string
	Reports   []learning.Report
	Best      *Trial // by the first objective
	BestScore float64
	Elapsed   time.Duration
	Simulated bool // Elapsed is simulated time (Options.Simulate)
	Budget    Budget
	// Knobs are the settings steering may change, with their values; Steers are the
	// changes made, in order (Entry.Trial is where each took effect): those of the
	// runs before a resume (Options.Steered), then this run's.
	Knobs  []learning.Knob
	Steers []Entry
	// Control is the last pause, resume or stop, and who asked for it: sessions that
	// did not (viewers, other operators) see who paused the search and when.
	Control *Control

	asOf time.Time // when Elapsed was measured; Snapshot adds the time since while searching
}

// Control is one pause, resume or stop of a search.
type Control struct {
	Did string // "paused", "paused, cancelling running trials", "resumed", "stopped"
	Who string // the user who asked; "" for a local session
	At  time.Time
}

// Member is one member of a strategy's population.
type Member struct {
	Trial uint64
	Arch  string
	Score float64 // the first objective, oriented so that higher is better
}

// Engine runs one experiment once.
type Engine struct {
	exp       *Experiment
	opt       Options
	obj       Objective
	measures  map[string]spaces.Limit // what the engine measures on the IR, by metric
	hub       hub
	published sync.Mutex // held from a commit until its events are published
	cmds      chan command
	started   atomic.Bool
	accepting chan struct{} // closed when Run starts taking commands
	done      chan struct{} // closed when Run returns

	mu     sync.Mutex
	status Status

	// Owned by Run's goroutine, by concern, each in its file.
	state      RunState
	queues                   // the trials asked, injected and running (queues.go)
	clock                    // the time searched, real or simulated (simtime.go)
	learner                  // the learner's epochs and its large state (learn.go)
	replay                   // the journal and the script followed (journal.go)
	steering                 // the steering waiting and applied (steer.go)
	dedupe                   // which trials are duplicates (dedupe.go)
	failures                 // why trials failed (failfast.go)
	front      []frontMember // with two or more objectives: the non-dominated done trials
	population populationCache
	lastCommit time.Duration // how long the last store commit took (see gather)
}

// slot is one trial while the engine holds it.
type slot struct {
	trial     Trial
	arch      spaces.Arch
	replayed  bool   // asked by following a script
	duplicate bool   // of an earlier trial (see dedupe)
	key       string // what dedupe counts as the same (set when it is on)
	cancel    context.CancelFunc
	cancelled bool
	final     bool // done or failed and committed
}

// commandKind is what a command asks of the running engine.
type commandKind int

const (
	cmdPause       commandKind = iota // pause: running trials finish
	cmdPauseCancel                    // pause, cancelling the running trials
	cmdResume
	cmdInject // queue a hand-made trial
	cmdSteer  // change a knob at the next ask
)

type command struct {
	kind   commandKind
	arch   spaces.Arch
	parent uint64
	who    string
	steer  Steer
	reply  chan error
}

// New prepares an engine; Run starts it.
func New(exp *Experiment, opt Options) *Engine {
	exp = exp.own()
	e := &Engine{exp: exp, opt: opt, obj: exp.Config.Objectives[0], cmds: make(chan command), accepting: make(chan struct{}), done: make(chan struct{}), state: Idle,
		queues: queues{nextID: 1}, learner: learner{learnDone: make(chan learnResult, 1), reported: map[string]int{}}, dedupe: dedupe{mode: exp.Config.Dedupe}}
	e.measures = Measures(exp.Config.Latency)
	e.status = Status{Name: exp.Config.Name, State: Idle, Budget: exp.Config.Budget, Steers: slices.Clone(opt.Steered)}
	return e
}

// Subscribe returns a stream of events. Any number of subscribers may listen; one that
// falls behind by more than a buffer's worth misses events (see Dropped) rather than
// slowing the search. The stream closes when Run returns.
func (e *Engine) Subscribe() *Subscription { return e.hub.add() }

// Snapshot returns the current status.
func (e *Engine) Snapshot() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.status
	if s.State == Searching && !s.asOf.IsZero() {
		s.Elapsed += time.Since(s.asOf)
	}
	s.Running = append([]Trial(nil), s.Running...)
	s.Population = append([]Member(nil), s.Population...)
	s.Reports = append([]learning.Report(nil), s.Reports...) // thinning rewrites the engine's in place
	s.Front = append([]uint64(nil), s.Front...)
	s.Knobs = append([]learning.Knob(nil), s.Knobs...)
	s.Steers = append([]Entry(nil), s.Steers...)
	s.Progress = make(map[uint64]Progress, len(e.status.Progress))
	for id, p := range e.status.Progress {
		s.Progress[id] = p
	}
	if s.Best != nil {
		b := *s.Best
		s.Best = &b
	}
	return s
}

// Pause stops asking for new trials. Running trials finish when cancelRunning is
// false; otherwise they are cancelled and run again after Resume.
func (e *Engine) Pause(cancelRunning bool) error { return e.PauseAs("", cancelRunning) }

// PauseAs is Pause on behalf of who (a user name), which the status shows.
func (e *Engine) PauseAs(who string, cancelRunning bool) error {
	if cancelRunning {
		return e.send(command{kind: cmdPauseCancel, who: who})
	}
	return e.send(command{kind: cmdPause, who: who})
}

// Resume continues a paused search.
func (e *Engine) Resume() error { return e.ResumeAs("") }

// ResumeAs is Resume on behalf of who.
func (e *Engine) ResumeAs(who string) error { return e.send(command{kind: cmdResume, who: who}) }

// NoteStop records that who is stopping the search (by cancelling its context, which
// the engine's owner does): the status then says who stopped it.
func (e *Engine) NoteStop(who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status.Control = &Control{Did: "stopped", Who: who, At: time.Now()}
}

// Inject queues a hand-made architecture, derived from trial parent (0 for none). It is
// evaluated next, even while paused, and the strategy learns from it.
func (e *Engine) Inject(arch spaces.Arch, parent uint64) error { return e.InjectAs("", arch, parent) }

// InjectAs is Inject on behalf of who (a user name), which the journal records.
func (e *Engine) InjectAs(who string, arch spaces.Arch, parent uint64) error {
	if err := e.exp.Space.Validate(arch); err != nil {
		return err
	}
	return e.send(command{kind: cmdInject, arch: arch, parent: parent, who: who})
}

func (e *Engine) send(c command) error {
	c.reply = make(chan error, 1)
	select {
	case <-e.accepting:
	default:
		return errors.New("the search has not started")
	}
	select {
	case e.cmds <- c:
		return <-c.reply
	case <-e.done:
		return errors.New("the search is not running")
	}
}

type finished struct {
	s       *slot
	outcome Outcome
	err     error
	taken   *Trial // the original trial whose outcome a fork took, with its times
}

// Run runs the search until its budget is spent, the strategy has nothing more to
// ask, or ctx ends. It returns ctx's error when interrupted, after storing every trial
// that finished and a checkpoint to resume from.
func (e *Engine) Run(ctx context.Context) (err error) {
	if !e.started.CompareAndSwap(false, true) {
		return errors.New("engine: Run was already called; an engine runs once")
	}
	defer close(e.done)
	defer e.hub.close()
	if err := e.restore(); err != nil {
		return err
	}
	results := make(chan finished)
	var wg sync.WaitGroup
	defer wg.Wait()
	// Every way out of the loop cancels what runs and waits for it, so no worker is
	// left behind and every finished trial is committed.
	defer func() {
		e.cancelRunning()
		for e.running > 0 {
			e.collect(ctx, <-results)
		}
		if e.learning != nil {
			if lerr := e.learned(<-e.learnDone); err == nil {
				err = lerr
			}
		}
		if cerr := e.commit(); err == nil {
			err = cerr
		}
		if e.state == Stopping {
			e.setState(Stopped) // all that finished is stored
		}
	}()

	e.updateKnobs()
	e.setState(Searching)
	close(e.accepting)
	// Stored trials among the resumed pending ones are told now, in the searching
	// state, so that the strategy is asked after each one as it was before the stop.
	e.tellReady()
	var deadline <-chan time.Time
	resetDeadline := func() {
		deadline = nil
		if b := e.exp.Config.Budget.Time; b > 0 && e.state == Searching && e.opt.Simulate == nil {
			deadline = time.After(b - e.elapsedNow())
		}
	}
	resetDeadline()
	for {
		e.dispatch(ctx, results, &wg)
		if e.scriptErr != nil {
			return e.scriptErr
		}
		if e.finishedAll() {
			e.setState(Finished)
			return nil
		}
		if e.gaveUp && e.running == 0 && e.learning == nil {
			e.setState(Stopped) // resumable, once what fails is fixed
			return &ErrFailing{Failed: e.failed, Failure: *e.commonest()}
		}
		select {
		case r := <-results:
			e.collect(ctx, r)
			if !e.opt.CommitEach {
				e.gather(ctx, results)
			}
			if err := e.commit(); err != nil {
				return err
			}
		case r := <-e.learnDone:
			if err := e.learned(r); err != nil {
				return err
			}
		case c := <-e.cmds:
			c.reply <- e.handle(c)
			resetDeadline()
		case <-deadline:
			e.timeUp = true
			e.cancelRunning()
		case <-ctx.Done():
			e.setState(Stopping)
			return ctx.Err()
		}
	}
}

// restore applies Options.Resume: the strategy's state, the next id, the pending trials
// (those already stored are told at the next commit, the others run again).
func (e *Engine) restore() error {
	cp := e.opt.Resume
	if cp == nil {
		return nil
	}
	for part, x := range e.largeParts() {
		if b, ok := cp.Large[part]; ok {
			if err := x.RestoreLargeState(b); err != nil {
				return fmt.Errorf("resume: %s: %w", part, err)
			}
		}
	}
	if err := e.exp.Strategy.Restore(cp.Strategy); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if ev, ok := e.exp.Evaluator.(Stateful); ok && cp.Evaluator != nil {
		if err := ev.Restore(cp.Evaluator); err != nil {
			return fmt.Errorf("resume: %s: %w", e.exp.Config.Evaluator.Name, err)
		}
	}
	e.takeReports(false)
	e.nextID, e.elapsed = cp.NextID, cp.Elapsed
	e.simClocks = cp.SimClocks
	if err := e.resteer(cp.Steered); err != nil {
		return err
	}
	pending := map[uint64]bool{}
	for _, p := range cp.Pending {
		pending[p.ID] = true
	}
	// In id order: what is counted must not depend on map order.
	for _, id := range slices.Sorted(maps.Keys(e.opt.Stored)) {
		if t := e.opt.Stored[id]; t.Final() && !pending[t.ID] {
			e.countFinal(&slot{trial: t})
		}
	}
	for _, p := range cp.Pending {
		a, err := e.exp.Space.Parse([]byte(p.Arch))
		if err != nil {
			return fmt.Errorf("resume: pending trial %d: %w", p.ID, err)
		}
		s := &slot{arch: a, trial: Trial{ID: p.ID, Arch: p.Arch, Origin: p.Origin, Parent: p.Parent, State: Queued, Queued: time.Now()}}
		if t, ok := e.opt.Stored[p.ID]; ok && t.Final() {
			s.trial, s.final = t, true
			e.countFinal(s)
		} else {
			e.requeue = append(e.requeue, s)
		}
		e.order = append(e.order, s)
	}
	e.redo(e.opt.Stored, e.order)
	e.updateStatus()
	return nil
}

func (e *Engine) elapsedNow() time.Duration {
	if e.opt.Simulate != nil {
		return e.simElapsed()
	}
	return e.clock.searched()
}

func (e *Engine) setState(s RunState) {
	e.clock.searching(s == Searching)
	e.state = s
	e.updateStatus()
	e.hub.publish(Event{Kind: StateChanged, State: s})
}

func (e *Engine) handle(c command) error {
	switch c.kind {
	case cmdPause, cmdPauseCancel:
		did := "paused"
		if c.kind == cmdPauseCancel {
			did = "paused, cancelling running trials"
		}
		if e.state == Searching {
			e.control(did, c.who)
			e.setState(Paused)
		}
		if c.kind == cmdPauseCancel {
			e.cancelRunning()
		}
	case cmdResume:
		if e.state == Paused {
			e.control("resumed", c.who)
			e.setState(Searching)
		}
	case cmdSteer:
		if err := e.checkSteer(c.steer); err != nil {
			e.refuse(c.steer, err)
			return err
		}
		e.steers = append(e.steers, c.steer)
	case cmdInject:
		if e.budgetSpent() {
			return fmt.Errorf("the budget of %d trials is spent", e.exp.Config.Budget.Trials)
		}
		e.enqueue(c.arch, OriginHand, c.parent, c.who)
	}
	return nil
}

// control records a pause or resume for the status; setState publishes it.
func (e *Engine) control(did, who string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status.Control = &Control{Did: did, Who: who, At: time.Now()}
}

func (e *Engine) cancelRunning() {
	if e.learnCancel != nil {
		e.learnCancel()
	}
	for _, s := range e.order {
		if s.cancel != nil {
			s.cancelled = true
			s.cancel()
		}
	}
}

func (e *Engine) budgetSpent() bool {
	b := e.exp.Config.Budget
	return e.timeUp || (b.Trials > 0 && e.nextID-1-uint64(e.dupes) >= uint64(b.Trials)) || (b.Final > 0 && e.fullCount() >= b.Final) || e.simSpent()
}

func (e *Engine) fullCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status.Full
}

func (e *Engine) finishedAll() bool {
	if e.state != Searching || e.running > 0 || e.learning != nil {
		return false
	}
	// Out of time, trials still pending stay in the checkpoint for a resume.
	return e.timeUp || (len(e.order) == 0 && (e.budgetSpent() || e.exhausted))
}

// refill asks the strategy for new trials while fewer than Parallelism are untold.
// It runs after every single tell, never after a batch: what is asked then depends
// only on what was told before, in trial order, however the evaluations interleave,
// which is what makes a search deterministic.
func (e *Engine) refill() {
	if e.state != Searching {
		return
	}
	if e.scripted() {
		e.follow()
		return
	}
	if e.gaveUp {
		return // the first trials all failed: nothing more is asked
	}
	if len(e.steers) > 0 && (e.budgetSpent() || e.exhausted) {
		e.steerNow() // no ask is coming: a raised budget must still take effect
	}
	for !e.budgetSpent() && !e.exhausted && len(e.order) < e.exp.Config.Parallelism {
		e.steerNow() // steering applies at the next ask
		if e.budgetSpent() {
			return
		}
		if e.dupeRun >= MaxDuplicateRun {
			e.exhausted = len(e.order) == 0 // converged: it asks only what it has had
			return
		}
		cs := e.exp.Strategy.Ask(1)
		if len(cs) == 0 {
			e.exhausted = len(e.order) == 0
			return
		}
		e.enqueue(cs[0].Arch, e.exp.Strategy.Name(), cs[0].Parent, "")
	}
}

// next picks the trial to run next: hand-made ones first (even while paused), then
// cancelled ones again, then those the strategy asked for.
func (e *Engine) next() *slot {
	pop := func(q *[]*slot) *slot {
		s := (*q)[0]
		*q = (*q)[1:]
		return s
	}
	switch {
	case len(e.hand) > 0:
		return pop(&e.hand)
	case e.state != Searching:
		return nil
	case len(e.requeue) > 0 && !e.timeUp:
		return pop(&e.requeue)
	case len(e.fresh) > 0 && !e.timeUp:
		return pop(&e.fresh)
	}
	return nil
}

// dispatch starts trials while workers are free, or a learner's epoch.
func (e *Engine) dispatch(ctx context.Context, results chan<- finished, wg *sync.WaitGroup) {
	if e.learning != nil {
		return
	}
	if l := e.pendingLearner(); l != nil {
		if e.state == Searching && e.running == 0 && !e.timeUp {
			e.startLearning(ctx, l)
		}
		e.updateStatus()
		return
	}
	e.refill()
	for e.running < e.exp.Config.Parallelism {
		s := e.next()
		if s == nil {
			break
		}
		var dup *finished
		if s.duplicate {
			r, ok := e.asDuplicate(s)
			if !ok {
				e.parked = append(e.parked, s) // until its first trial is final
				continue
			}
			dup = &r
		}
		tctx, cancel := context.WithCancel(ctx)
		s.cancel, s.cancelled = cancel, false
		s.trial.State, s.trial.Started = Running, time.Now()
		s.trial.Seed = TrialSeed(e.exp.Config.Seed, s.trial.ID)
		e.running++
		e.hub.publish(Event{Kind: TrialStarted, Trial: s.trial})
		wg.Add(1)
		go func(s *slot, t Trial) {
			defer wg.Done()
			if dup != nil {
				results <- *dup
				return
			}
			if o, ok := e.reused(s); ok {
				results <- o
				return
			}
			out, err := e.evaluate(tctx, s.arch, t, s.replayed)
			results <- finished{s: s, outcome: out, err: err}
		}(s, s.trial)
	}
	e.updateStatus()
}

// evaluate runs the evaluator, turning a panic into an error so one bad architecture
// fails its trial, not the search.
func (e *Engine) evaluate(ctx context.Context, arch spaces.Arch, t Trial, replayed bool) (out Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("evaluator panicked: %v", p)
		}
	}()
	report := func(p Progress) {
		e.mu.Lock()
		if e.status.Progress == nil {
			e.status.Progress = map[uint64]Progress{}
		}
		e.status.Progress[t.ID] = p
		e.mu.Unlock()
		e.hub.publish(Event{Kind: TrialProgress, Trial: t, Progress: p})
	}
	measured, err := e.measure(arch)
	if err != nil {
		return Outcome{}, err
	}
	job := Job{Experiment: e.opt.Experiment, Trial: t.ID, Seed: t.Seed, Arch: arch, Measured: measured, Replaying: replayed, Dir: e.opt.Dir,
		Hand: t.Origin == OriginHand}
	if replayed {
		job.Replay = e.opt.Script.Original[t.ID].Stop
	}
	out, err = e.exp.Evaluator.Evaluate(ctx, job, report)
	if err == nil {
		e.addMeasured(measured, &out)
	}
	return out, err
}

// collect takes a finished evaluation back on the engine's goroutine. ctx is Run's: an
// evaluation that failed because the search is stopping was cancelled, not failed.
func (e *Engine) collect(ctx context.Context, r finished) {
	s := r.s
	e.running--
	s.cancel()
	s.cancel = nil
	s.trial.Finished = time.Now()
	if r.taken != nil {
		s.trial.Started, s.trial.Finished = r.taken.Started, r.taken.Finished
	}
	if r.err != nil && (s.cancelled || ctx.Err() != nil) {
		// Stopped by a pause or shutdown: it runs again later under the same id.
		s.trial.State = Cancelled
		e.hub.publish(Event{Kind: TrialFinished, Trial: s.trial})
		s.trial.State, s.trial.Started, s.trial.Finished = Queued, time.Time{}, time.Time{}
		e.requeue = append(e.requeue, s)
		return
	}
	s.trial.Metrics, s.trial.Curve = r.outcome.Metrics, r.outcome.Curve
	s.trial.Stop, s.trial.Rungs, s.trial.Log = r.outcome.Stop, r.outcome.Rungs, r.outcome.Log
	s.trial.State = Done
	if r.err != nil {
		s.trial.State, s.trial.Error = Failed, r.err.Error()
	} else if err := e.charge(&s.trial); err != nil {
		s.trial.State, s.trial.Error = Failed, err.Error()
	} else if _, err := e.score(s.trial); err != nil && s.trial.Stop == nil {
		// A trial stopped early may lack the objective (a cascade stopped at a
		// proxy); the strategy then treats it as failed, but it is not.
		s.trial.State, s.trial.Error = Failed, err.Error()
	}
	e.uncommitted = append(e.uncommitted, s)
}

// score is the first objective, oriented so that higher is better.
func (e *Engine) score(t Trial) (float64, error) { return objectiveScore(t, e.obj) }

// objectiveScore is a trial's value of objective o, oriented so that higher is better,
// and scaled by the trial's constraint penalty, if it has one.
func objectiveScore(t Trial, o Objective) (float64, error) {
	v, ok := t.Metrics[o.Name]
	if !ok {
		return 0, fmt.Errorf("the evaluator gave no %s", o.Name)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s is %v", o.Name, v)
	}
	if !o.Maximise() {
		v = -v
	}
	if f, ok := t.Metrics[MetricPenalty]; ok {
		v = penalised(v, f)
	}
	return v, nil
}

// Best is the best fully evaluated done trial by objective o (its penalty applied),
// ties to the lowest id, as a search's status counts it; false when none has a value.
func Best(trials []Trial, o Objective) (Trial, bool) {
	var best Trial
	var bestV float64
	found := false
	for _, t := range trials {
		if t.State != Done || !t.Full() {
			continue
		}
		v, err := objectiveScore(t, o)
		if err == nil && (!found || v > bestV || v == bestV && t.ID < best.ID) {
			best, bestV, found = t, v, true
		}
	}
	return best, found
}

// scores are a trial's values of every objective, oriented so that higher is better.
func (e *Engine) scores(t Trial) ([]float64, error) {
	out := make([]float64, len(e.exp.Config.Objectives))
	for i, o := range e.exp.Config.Objectives {
		v, err := objectiveScore(t, o)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// commit stores the finished trials with a checkpoint, then tells the strategy every
// trial that is now next in order and final.
// Committed calls f with the Seq of the last event published, at a moment when no
// commit is under way: every trial in the store has had its TrialFinished event
// published, and none published later is in the store. A subscriber that subscribes,
// opens a read transaction inside f, and then drops events with Seq <= seq sees each
// trial exactly once: from the store or from an event.
func (e *Engine) Committed(f func(seq uint64) error) error {
	e.published.Lock()
	defer e.published.Unlock()
	return f(e.hub.last())
}

// gatherCap bounds the wait for more trials to commit together, whatever a commit
// took (a disk that once stalled must not hold every later commit).
const gatherCap = 50 * time.Millisecond

// gather collects what else finishes into the commit about to be made: whatever has
// already finished, and, while trials still run, what finishes within the time the
// last commit took. Committing at once and again for the next trial would cost a
// second commit; waiting costs at most one. Trials that finish together (fast
// evaluations, a parallel search) so share one transaction and one fsync, and a
// strategy is still told of each only after its commit. Trials that take minutes
// lose nothing to a wait of a few milliseconds.
func (e *Engine) gather(ctx context.Context, results <-chan finished) {
	var timeout <-chan time.Time
	if w := min(e.lastCommit, gatherCap); w > 0 {
		t := time.NewTimer(w)
		defer t.Stop()
		timeout = t.C
	}
	for e.running > 0 {
		select {
		case r := <-results:
			e.collect(ctx, r)
			continue
		default:
		}
		if timeout == nil {
			return
		}
		select {
		case r := <-results:
			e.collect(ctx, r)
		case <-timeout:
			timeout = nil // take what has finished by now, and commit
		case <-ctx.Done():
			return
		}
	}
}

func (e *Engine) commit() error {
	for _, s := range e.uncommitted {
		e.addToFront(s.trial) // before the checkpoint, which keeps the front
	}
	if e.opt.Store != nil {
		cp, err := e.checkpoint()
		if err != nil {
			return err
		}
		trials := make([]Trial, len(e.uncommitted))
		for i, s := range e.uncommitted {
			trials[i] = s.trial
		}
		e.published.Lock()
		defer e.published.Unlock()
		start := time.Now()
		if err := e.opt.Store.Commit(trials, cp); err != nil {
			return fmt.Errorf("store trials: %w", err)
		}
		e.lastCommit = time.Since(start)
	}
	e.journal = nil // the store may keep the slice it was given
	for _, s := range e.uncommitted {
		s.final = true
		e.settled(s)
		e.countFinal(s)
		e.hub.publish(Event{Kind: TrialFinished, Trial: s.trial})
	}
	e.uncommitted = e.uncommitted[:0]
	e.tellReady()
	return nil
}

// tellReady tells the strategy every trial at the head of the order that is final.
func (e *Engine) tellReady() {
	for len(e.order) > 0 && e.order[0].final {
		s := e.order[0]
		e.order = e.order[1:]
		score, err := e.score(s.trial)
		scores, _ := e.scores(s.trial)
		failed := err != nil || s.trial.State != Done
		if failed {
			scores = nil
		}
		e.exp.Strategy.Tell([]strategies.Result{{Trial: s.trial.ID, Arch: s.arch, Score: score, Scores: scores, Failed: failed, Injected: s.trial.Origin == OriginHand}})
		e.noteFinal(s.trial)
		e.log(Entry{Op: OpTell, Trial: s.trial.ID})
		e.simAdvance(s.trial)
		e.scriptTell(s.trial.ID)
		e.publishReports()
		if e.opt.Observe != nil {
			e.opt.Observe(s.trial)
		}
		e.refill()
	}
	e.updateStatus()
}

func (e *Engine) checkpoint() (Checkpoint, error) {
	st, err := e.exp.Strategy.State()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("snapshot %s: %w", e.exp.Strategy.Name(), err)
	}
	cp := Checkpoint{Strategy: st, Objectives: e.exp.Config.Objectives, NextID: e.nextID, Elapsed: e.elapsedNow(), Front: e.frontIDs(), Journal: e.journal, Steered: e.steered, SimClocks: e.simClocks}
	if ev, ok := e.exp.Evaluator.(Stateful); ok {
		if cp.Evaluator, err = ev.State(); err != nil {
			return Checkpoint{}, fmt.Errorf("snapshot %s: %w", e.exp.Config.Evaluator.Name, err)
		}
	}
	if err := e.addLarge(&cp); err != nil {
		return Checkpoint{}, err
	}
	for _, s := range e.order {
		cp.Pending = append(cp.Pending, Pending{ID: s.trial.ID, Arch: s.trial.Arch, Origin: s.trial.Origin, Parent: s.trial.Parent})
	}
	cp.Finished = e.timeUp || (len(cp.Pending) == 0 && (e.budgetSpent() || e.exhausted))
	return cp, nil
}

// largeParts are the strategy and evaluator if they keep a large state, by part name.
func (e *Engine) largeParts() map[string]LargeStateful {
	out := map[string]LargeStateful{}
	if x, ok := e.exp.Strategy.(LargeStateful); ok {
		out["strategy"] = x
	}
	if x, ok := e.exp.Evaluator.(LargeStateful); ok {
		out["evaluator"] = x
	}
	return out
}

// addLarge puts in cp the large states whose version changed since this engine last
// committed them (all of them at its first commit, resumed or not: a fork writes
// them into its new experiment).
func (e *Engine) addLarge(cp *Checkpoint) error {
	for part, x := range e.largeParts() {
		v, b, err := x.LargeState()
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", part, err)
		}
		if last, ok := e.largeAt[part]; (ok && last == v) || b == nil {
			continue
		}
		if cp.Large == nil {
			cp.Large = map[string][]byte{}
		}
		cp.Large[part] = b
		if e.largeAt == nil {
			e.largeAt = map[string]int{}
		}
		e.largeAt[part] = v
	}
	return nil
}

// countFinal updates the counters and the best trial for a final trial.
func (e *Engine) countFinal(s *slot) {
	e.addToFront(s.trial)
	e.mu.Lock()
	defer e.mu.Unlock()
	if (s.trial.Full() && s.trial.Duplicate == 0) || s.trial.State == Failed {
		e.status.Full++ // a duplicate costs nothing
	}
	if s.trial.Duplicate != 0 {
		e.status.Duplicates++
	}
	if s.trial.State == Done {
		e.status.Done++
		if s.trial.Stop != nil {
			e.status.Stopped++
		}
		// Ties go to the lowest trial id, whatever order trials are counted in.
		if v, err := e.score(s.trial); err == nil && s.trial.Full() && (e.status.Best == nil || v > e.status.BestScore || v == e.status.BestScore && s.trial.ID < e.status.Best.ID) {
			t := s.trial
			e.status.Best, e.status.BestScore = &t, v
		}
	} else {
		e.status.Failed++
	}
}

func (e *Engine) updateStatus() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.status.State = e.state
	e.status.Asked = int(e.nextID - 1)
	for i := range e.status.Knobs { // the budget cannot fall below what was asked
		if e.status.Knobs[i].Name == "budget.trials" {
			e.status.Knobs[i].Min = math.Max(float64(e.status.Asked), 1)
		}
	}
	e.status.Elapsed, e.status.asOf = e.elapsedNow(), time.Now()
	if e.opt.Simulate != nil {
		e.status.asOf, e.status.Simulated = time.Time{}, true // the clock moves with trials, not time
	}
	e.status.Running = e.status.Running[:0]
	running := map[uint64]bool{}
	for _, s := range e.order {
		if s.trial.State == Running {
			e.status.Running = append(e.status.Running, s.trial)
			running[s.trial.ID] = true
		}
	}
	for id := range e.status.Progress {
		if !running[id] {
			delete(e.status.Progress, id)
		}
	}
	// Read on the engine's goroutine, which owns the strategy; at most ten times a
	// second, as a display needs, and whenever the state changes.
	if p, ok := e.exp.Strategy.(strategies.Populated); ok && e.population.stale(e.status.State) {
		e.status.Population = e.status.Population[:0]
		for _, r := range p.Population() {
			e.status.Population = append(e.status.Population, Member{Trial: r.Trial, Arch: r.Arch.String(), Score: r.Score})
		}
	}
}
