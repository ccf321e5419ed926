package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"cellar/engine"
)

// Evaluator is the search's side: an engine.Evaluator that publishes each trial as a
// job and returns the outcome a worker publishes. It gives the metrics of the
// experiment's own evaluator (local), which the search builds to check the config but
// never evaluates with.
type Evaluator struct {
	q       *queue
	exp     string // Key
	metrics []string
	local   engine.Evaluator  // the experiment's own: its state, early stopping, history
	judge   engine.EpochJudge // set when the search judges early stopping

	mu       sync.Mutex
	waiting  map[uint64]*waiter  // trials being evaluated
	arrived  map[uint64][]result // outcomes no Evaluate waits for (yet), a few a trial
	stored   map[uint64]bool     // trials the search has stored
	failures map[uint64]string   // the last failure a worker reported of a trial
	dups     int                 // outcomes dropped as duplicates
	rejected int                 // outcomes dropped for naming no job this search sent
	// exhausted are the max-deliveries verdicts on jobs whose Evaluate did not know
	// their sequence yet, by sequence.
	exhausted map[uint64]int
	subs      []*nats.Subscription
	log       *slog.Logger
	deletes   sync.WaitGroup // spent jobs being deleted; Close waits for them
	done      chan struct{}  // closed by Close
	closeOnce sync.Once
	cons      jetstream.ConsumeContext
}

type waiter struct {
	arch     string // what the job this search sent asks
	nonce    string
	done     chan result
	progress func(engine.Progress)
	seq      uint64 // the job's stream sequence, for the max-deliveries advisory
	judge    func(epoch int, metrics map[string]float64) (bool, *engine.Stop)
	stopped  bool // a stop was sent
}

// NewEvaluator opens the queue, puts the experiment's config (source) where workers
// find it, and listens for its outcomes, progress and failures. stored are the
// trials the search has stored already (a resume's): their outcomes, should they
// come again, are dropped and their jobs released.
func NewEvaluator(ctx context.Context, nc *nats.Conn, opt Options, exp string, source []byte, local engine.Evaluator, stored map[uint64]bool) (*Evaluator, error) {
	judge, _ := local.(engine.EpochJudge)
	if judge != nil && judge.Judge(engine.Job{}) == nil {
		judge = nil // it stops nothing
	}
	if _, ok := local.(engine.Stateful); ok && judge == nil && statefulNow(local) {
		return nil, fmt.Errorf("nats: this evaluator keeps state across trials (a cascade's ladder, a supernet) that workers on several machines cannot share; run it in-process")
	}
	q, err := openQueue(ctx, nc, opt)
	if err != nil {
		return nil, err
	}
	if _, err := q.configs.Put(ctx, exp, source); err != nil {
		return nil, fmt.Errorf("nats: the experiment's config: %w", err)
	}
	e := &Evaluator{q: q, log: q.opt.Log, exp: exp, metrics: local.Metrics(), local: local, judge: judge, waiting: map[uint64]*waiter{}, arrived: map[uint64][]result{},
		stored: map[uint64]bool{}, failures: map[uint64]string{}, exhausted: map[uint64]int{}}
	for id := range stored {
		e.stored[id] = true
	}
	// Outcomes, from the first one kept: a resumed search finds those that came while
	// it was gone.
	cons, err := q.js.OrderedConsumer(ctx, q.sub.resultsStream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{q.sub.results(exp)}, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("nats: the outcomes: %w", err)
	}
	if e.cons, err = cons.Consume(func(m jetstream.Msg) { e.take(m.Data()) }); err != nil {
		return nil, fmt.Errorf("nats: the outcomes: %w", err)
	}
	s, err := nc.Subscribe(q.sub.progress(exp), e.onProgress)
	if err != nil {
		e.Close()
		return nil, err
	}
	e.subs = append(e.subs, s)
	// A worker's failure and the server's max-deliveries advisory that follows it
	// come through one channel, handled in the order they arrived: the failure, sent
	// before the worker let the job go, is known when the advisory is taken.
	failures, advisories := fmt.Sprintf("%s.failures.%s.*", q.opt.Stream, exp), fmt.Sprintf("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.%s.%s", q.opt.Stream, workersConsumer)
	ch := make(chan *nats.Msg, 256)
	for _, subj := range []string{failures, advisories} {
		s, err := nc.ChanSubscribe(subj, ch)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.subs = append(e.subs, s)
	}
	done := make(chan struct{})
	e.done = done
	go func() {
		for {
			select {
			case m := <-ch:
				if strings.HasPrefix(m.Subject, "$JS.") {
					e.onMaxDeliveries(m)
				} else {
					e.onFailure(m)
				}
			case <-done:
				return
			}
		}
	}()
	return e, nil
}

// statefulNow says whether a Stateful evaluator has state to keep (the train
// evaluator is Stateful only with early stopping).
func statefulNow(ev engine.Evaluator) bool {
	st, err := ev.(engine.Stateful).State()
	return err != nil || st != nil
}

// Close stops listening.
func (e *Evaluator) Close() {
	if e.cons != nil {
		e.cons.Stop()
	}
	for _, s := range e.subs {
		if err := s.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			e.log.Warn("unsubscribe", "subject", s.Subject, "err", err)
		}
	}
	if e.done != nil {
		e.closeOnce.Do(func() { close(e.done) })
	}
	e.deletes.Wait()
}

// tell sends the workers a word about a trial (cancel it, it is stored, stop it);
// one that does not go out is logged: the worker then runs the trial on, or keeps
// its job until its own timeout.
func (e *Evaluator) tell(subject string, b []byte) {
	if err := e.q.nc.Publish(subject, b); err != nil {
		e.log.Warn("a word to the workers did not go out", "subject", subject, "err", err)
	}
}

func (e *Evaluator) Metrics() []string { return e.metrics }

// Evaluate publishes the job (unless it is still queued from before, or its outcome
// has come already) and waits for its outcome. A cancelled evaluation tells the
// worker, which ends it.
func (e *Evaluator) Evaluate(ctx context.Context, j engine.Job, progress func(engine.Progress)) (engine.Outcome, error) {
	w := &waiter{arch: j.Arch.String(), done: make(chan result, 1), progress: progress}
	if e.judge != nil {
		w.judge = e.judge.Judge(j)
	}
	// The job: the one still queued or running from before (a resume), if it asks for
	// this arch, else a new one under a new nonce.
	subject := e.q.sub.jobs(e.exp, j.Trial)
	var queued *jetstream.RawStreamMsg
	if m, err := e.q.jobs.GetLastMsgForSubject(ctx, subject); err == nil {
		var old job
		if json.Unmarshal(m.Data, &old) == nil && old.Arch == w.arch && old.Nonce != "" {
			queued, w.nonce = m, old.Nonce
		}
	}
	if queued == nil {
		w.nonce = newNonce()
	}
	e.mu.Lock()
	for _, r := range e.arrived[j.Trial] { // came while the search was away
		if e.accepts(w, r) {
			delete(e.arrived, j.Trial)
			e.mu.Unlock()
			return e.outcome(j, r)
		}
	}
	delete(e.arrived, j.Trial)
	e.waiting[j.Trial] = w
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.waiting, j.Trial)
		e.mu.Unlock()
	}()
	if queued != nil {
		e.setSeq(j.Trial, w, queued.Sequence) // still queued or running from before: wait for it
	} else {
		b, _ := json.Marshal(job{Protocol: Protocol, Experiment: e.exp, Trial: j.Trial, Seed: j.Seed, Arch: w.arch,
			Measured: j.Measured, Replaying: j.Replaying, Replay: j.Replay, Judged: e.judge != nil, Nonce: w.nonce})
		ack, err := e.publish(ctx, subject, b)
		if err != nil {
			return engine.Outcome{}, err
		}
		e.setSeq(j.Trial, w, ack.Sequence)
	}
	select {
	case r := <-w.done:
		return e.outcome(j, r)
	case <-ctx.Done():
		e.tell(e.q.sub.cancel(e.exp, j.Trial), nil)
		return engine.Outcome{}, ctx.Err()
	}
}

// newNonce is a job's random name.
func newNonce() string {
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		panic("remote: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(raw)
}

// accepts says whether r is the outcome of the job w waits for: the job's nonce and
// arch, which only a worker that took it (or a holder of the token reading the queue)
// knows. One that is not is dropped and logged. The caller holds e.mu.
func (e *Evaluator) accepts(w *waiter, r result) bool {
	if r.Nonce == w.nonce && r.Arch == w.arch {
		return true
	}
	e.rejected++
	e.log.Warn("dropped an outcome that names no job this search sent", "trial", r.Trial, "worker", r.Worker, "arch", r.Arch, "want_arch", w.arch)
	return false
}

// publish puts a job on the queue, trying again while the server is away (a restart:
// the connection comes back by itself) until ctx ends.
func (e *Evaluator) publish(ctx context.Context, subject string, b []byte) (*jetstream.PubAck, error) {
	for {
		ack, err := e.q.js.Publish(ctx, subject, b)
		if err == nil {
			return ack, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// outcome is what the engine gets of a worker's result; a training that ran to its
// end goes into early stopping's history.
func (e *Evaluator) outcome(j engine.Job, r result) (engine.Outcome, error) {
	if r.Error != "" {
		return r.Outcome, fmt.Errorf("%s (on worker %s)", r.Error, r.Worker)
	}
	if e.judge != nil && r.Outcome.Stop == nil {
		e.judge.Finished(j, r.Outcome.Curve)
	}
	return r.Outcome, nil
}

// State, Restore and Observe are the experiment's own evaluator's (early stopping's
// history), which the search keeps.
func (e *Evaluator) State() ([]byte, error) {
	if s, ok := e.local.(engine.Stateful); ok {
		return s.State()
	}
	return nil, nil
}

func (e *Evaluator) Restore(b []byte) error {
	if s, ok := e.local.(engine.Stateful); ok {
		return s.Restore(b)
	}
	return nil
}

func (e *Evaluator) Observe(t engine.Trial) {
	if h, ok := e.local.(engine.Historian); ok {
		h.Observe(t)
	}
}

// take is an outcome from the stream: to the Evaluate waiting for it; dropped when
// the trial is stored already (a duplicate, or a resume's), and its job released.
func (e *Evaluator) take(data []byte) {
	var r result
	if err := json.Unmarshal(data, &r); err != nil || r.Experiment != e.exp {
		e.log.Warn("dropped an outcome that is not this search's", "experiment", r.Experiment, "trial", r.Trial, "err", err)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stored[r.Trial] {
		e.dups++
		e.tell(e.q.sub.stored(e.exp, r.Trial), nil)
		return
	}
	if w, ok := e.waiting[r.Trial]; ok {
		if !e.accepts(w, r) {
			return
		}
		select {
		case w.done <- r:
		default: // it has one already: a duplicate
			e.dups++
		}
		return
	}
	// Kept for the Evaluate to come (a resume's), which checks it: a few a trial, so
	// a flood of outcomes for one trial holds no memory.
	if len(e.arrived[r.Trial]) < maxArrived {
		e.arrived[r.Trial] = append(e.arrived[r.Trial], r)
	}
}

// maxArrived bounds the outcomes kept for one trial no Evaluate waits for yet.
const maxArrived = 4

// Rejected is how many outcomes named no job this search sent, and were dropped.
func (e *Evaluator) Rejected() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rejected
}

// Duplicates is how many outcomes came for trials that had one, and were dropped.
func (e *Evaluator) Duplicates() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dups
}

// Stored tells the workers that the search has stored these trials' outcomes, so
// they ack their jobs; a later outcome for them is a duplicate.
func (e *Evaluator) Stored(ids []uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range ids {
		e.stored[id] = true
		delete(e.arrived, id)
		e.tell(e.q.sub.stored(e.exp, id), nil)
	}
}

func (e *Evaluator) onProgress(m *nats.Msg) {
	var p progress
	if json.Unmarshal(m.Data, &p) != nil {
		return
	}
	e.mu.Lock()
	w := e.waiting[p.Trial]
	e.mu.Unlock()
	if w == nil {
		return
	}
	if w.progress != nil {
		w.progress(p.Progress)
	}
	// Early stopping, judged here after each whole epoch: a stop goes to the worker,
	// which ends the training and reports it stopped.
	ep := p.Progress.Epoch
	if w.judge == nil || w.stopped || ep != float64(int(ep)) || ep < 1 {
		return
	}
	if ok, st := w.judge(int(ep), p.Progress.Metrics); !ok {
		w.stopped = true
		b, _ := json.Marshal(st)
		e.tell(e.q.sub.stop(e.exp, p.Trial), b)
	}
}

// onFailure keeps what a worker said when an evaluation failed without an outcome (a
// panic), for the trial's error should its job run out of deliveries.
func (e *Evaluator) onFailure(m *nats.Msg) {
	id, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
	if err != nil {
		return
	}
	e.mu.Lock()
	e.failures[id] = string(m.Data)
	e.mu.Unlock()
}

// onMaxDeliveries fails the trial whose job has been delivered max_deliver times
// without an outcome (a poison job), with what its workers said.
func (e *Evaluator) onMaxDeliveries(m *nats.Msg) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries int    `json:"deliveries"`
	}
	if json.Unmarshal(m.Data, &adv) != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// The job stays in the queue, undeliverable: remove it (not under e.mu, which
	// the advisory handler holds; Close waits for it).
	e.deletes.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.q.jobs.DeleteMsg(ctx, adv.StreamSeq); err != nil {
			e.log.Warn("a spent job stays in the queue, never delivered again", "seq", adv.StreamSeq, "err", err)
		}
	})
	for id, w := range e.waiting {
		if w.seq == adv.StreamSeq {
			e.exhaust(id, w, adv.Deliveries)
			return
		}
	}
	// Its Evaluate has not learnt the job's sequence yet (the deliveries ran out
	// before the publish returned): it takes the verdict when it does.
	e.exhausted[adv.StreamSeq] = adv.Deliveries
}

// exhaust fails trial id, whose job ran out of deliveries, with what its workers said.
// The caller holds e.mu.
func (e *Evaluator) exhaust(id uint64, w *waiter, deliveries int) {
	reason := e.failures[id]
	if reason == "" {
		reason = "no worker finished it"
	}
	select {
	case w.done <- result{Trial: id, Worker: "none", Error: fmt.Sprintf("delivered %d times without an outcome: %s", deliveries, reason)}:
	default:
	}
}

// setSeq records the job's stream sequence for trial id, taking a max-deliveries
// verdict that came before it.
func (e *Evaluator) setSeq(id uint64, w *waiter, seq uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w.seq = seq
	if n, ok := e.exhausted[seq]; ok {
		delete(e.exhausted, seq)
		e.exhaust(id, w, n)
	}
}

// Store is a search's store that tells the workers what it has stored, so they ack
// their jobs (see Evaluator.Stored).
type Store struct {
	engine.Store
	Evaluator *Evaluator
}

func (s Store) Commit(trials []engine.Trial, cp engine.Checkpoint) error {
	if err := s.Store.Commit(trials, cp); err != nil {
		return err
	}
	ids := make([]uint64, len(trials))
	for i, t := range trials {
		ids[i] = t.ID
	}
	s.Evaluator.Stored(ids)
	return nil
}

// Unwrap is the experiment's own evaluator, which the workers run: its optional
// interfaces (a cascade's rungs) are the search's (engine.As).
func (e *Evaluator) Unwrap() engine.Evaluator { return e.local }
