package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/spaces"
)

// Worker pulls jobs and evaluates them with their experiment's own evaluator.
type Worker struct {
	Name        string
	Host        string
	Parallelism int
	// Devices, when given, are handed one to each slot (slot i gets Devices[i mod
	// len]): the evaluations of a slot see only its device (engine.Job.Device).
	Devices []string
	// Evaluators are the factories experiments' evaluators are built from
	// (evaluators.Builtin() when nil).
	Evaluators map[string]engine.EvaluatorFactory
	Log        *slog.Logger

	q       *queue
	mu      sync.Mutex
	built   map[string]*built // by experiment key
	running map[string]bool   // EXP.TRIAL
}

type built struct {
	once  sync.Once
	space spaces.Space
	eval  engine.Evaluator
	err   error
}

// Run works until ctx ends: Parallelism slots, each pulling one job at a time.
func (w *Worker) Run(ctx context.Context, nc *nats.Conn, stream string) error {
	if w.Parallelism < 1 {
		w.Parallelism = 1
	}
	if w.Evaluators == nil {
		w.Evaluators = evaluators.Builtin()
	}
	if w.Log == nil {
		w.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if w.Host == "" {
		w.Host, _ = os.Hostname()
	}
	var err error
	// A worker may start before its search: it asks again, soon at first (a search
	// starting beside it), then every few seconds.
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		if w.q, err = bindQueue(ctx, nc, stream); err == nil {
			break
		}
		w.Log.Info("waiting for a search to make the queue", "stream", stream, "err", err, "again_in", wait)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
	w.built, w.running = map[string]*built{}, map[string]bool{}
	w.Log.Info("worker ready", "name", w.Name, "stream", stream, "slots", w.Parallelism, "ack_wait", w.q.opt.AckWait)
	var wg sync.WaitGroup
	for i := range w.Parallelism {
		device := ""
		if len(w.Devices) > 0 {
			device = w.Devices[i%len(w.Devices)]
		}
		wg.Go(func() { w.slot(ctx, device) })
	}
	wg.Go(func() { w.heartbeat(ctx) })
	wg.Wait()
	return ctx.Err()
}

func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		w.mu.Lock()
		hb := Heartbeat{Name: w.Name, Host: w.Host, Slots: w.Parallelism, Protocol: Protocol, Time: time.Now()}
		for k := range w.running {
			hb.Running = append(hb.Running, k)
		}
		w.mu.Unlock()
		b, _ := json.Marshal(hb)
		w.q.nc.Publish(w.q.sub.worker(w.Name), b)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// slot pulls and runs one job at a time.
func (w *Worker) slot(ctx context.Context, device string) {
	for ctx.Err() == nil {
		// A pull that waits at most 2 s and ends at once when the worker stops.
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		batch, err := w.q.workers.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if ctx.Err() == nil {
				w.Log.Warn("fetch", "err", err)
				sleep(ctx, time.Second)
			}
			continue
		}
		for m := range batch.Messages() {
			w.run(ctx, m, device)
		}
		cancel()
	}
}

// run evaluates one job and publishes its outcome; the job is acked once the search
// says it stored it (or gave the trial up).
func (w *Worker) run(ctx context.Context, m jetstream.Msg, device string) {
	var j job
	if err := json.Unmarshal(m.Data(), &j); err != nil {
		w.Log.Error("a job that does not decode; dropping it", "subject", m.Subject(), "err", err)
		m.Term()
		return
	}
	if j.Protocol != Protocol {
		w.Log.Error(fmt.Sprintf("refused a job of protocol %d: this worker speaks %d; run a worker of the search's cellar version", j.Protocol, Protocol), "trial", j.Trial)
		m.NakWithDelay(w.q.opt.AckWait)
		return
	}
	key := fmt.Sprintf("%s.%d", j.Experiment, j.Trial)
	w.mu.Lock()
	w.running[key] = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.running, key)
		w.mu.Unlock()
	}()
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cancelSub, _ := w.q.nc.Subscribe(w.q.sub.cancel(j.Experiment, j.Trial), func(*nats.Msg) { cancel() })
	// The search's early-stopping decision ends the evaluation; the epochs reported so
	// far are the trial's curve.
	var (
		stopMu sync.Mutex
		stop   *engine.Stop
		curve  []engine.CurvePoint
	)
	stopSub, _ := w.q.nc.Subscribe(w.q.sub.stop(j.Experiment, j.Trial), func(m *nats.Msg) {
		var st engine.Stop
		if json.Unmarshal(m.Data, &st) == nil {
			stopMu.Lock()
			stop = &st
			stopMu.Unlock()
			cancel()
		}
	})
	defer stopSub.Unsubscribe()
	started := time.Now()
	epochs := func(p engine.Progress) {
		if p.Epoch >= 1 && p.Epoch == float64(int(p.Epoch)) {
			stopMu.Lock()
			curve = append(curve, engine.CurvePoint{Epoch: p.Epoch, Step: p.Step, Metrics: p.Metrics, Duration: time.Since(started).Seconds()})
			stopMu.Unlock()
		}
	}
	storedCh := make(chan struct{}, 1)
	storedSub, _ := w.q.nc.Subscribe(w.q.sub.stored(j.Experiment, j.Trial), func(*nats.Msg) {
		select {
		case storedCh <- struct{}{}:
		default:
		}
	})
	defer cancelSub.Unsubscribe()
	defer storedSub.Unsubscribe()
	// Tell the server the job is alive while it runs and until it is stored.
	alive := make(chan struct{})
	defer close(alive)
	go func() {
		t := time.NewTicker(max(w.q.opt.AckWait/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-alive:
				return
			case <-t.C:
				m.InProgress()
			}
		}
	}()

	out, err := w.evaluate(jctx, j, device, epochs)
	stopMu.Lock()
	stopped, soFar := stop, curve
	stopMu.Unlock()
	if stopped != nil && ctx.Err() == nil { // stopped early: what it reached is its outcome
		out, err = engine.Outcome{Curve: soFar, Stop: stopped, Metrics: map[string]float64{}}, nil
		if n := len(soFar); n > 0 {
			out.Metrics = soFar[n-1].Metrics
		}
	} else if jctx.Err() != nil && ctx.Err() == nil { // the search cancelled it: it runs again later
		m.Ack()
		return
	}
	if ctx.Err() != nil { // this worker stops: another takes the job
		m.Nak()
		return
	}
	var pe *panicError
	if errors.As(err, &pe) {
		// No outcome: the job goes to another delivery, or fails the trial after
		// max_deliver (the search hears of it from the server's advisory).
		w.q.nc.Publish(fmt.Sprintf("%s.failures.%s.%d", w.q.opt.Stream, j.Experiment, j.Trial), []byte(err.Error()))
		m.Nak()
		return
	}
	r := result{Protocol: Protocol, Experiment: j.Experiment, Trial: j.Trial, Worker: w.Name, Outcome: out}
	if err != nil {
		r.Error = err.Error()
	}
	b, _ := json.Marshal(r)
	for {
		_, err := w.q.js.Publish(ctx, w.q.sub.result(j.Experiment, j.Trial), b)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			m.Nak()
			return
		}
		w.Log.Warn("publish outcome; trying again", "trial", j.Trial, "err", err)
		sleep(ctx, 500*time.Millisecond)
	}
	// The outcome is in its stream now, which a search (a resumed one too) reads: once
	// it says it stored it, or after a while without a word (it is gone, or the word
	// was lost in a server restart), the job is done.
	select {
	case <-storedCh:
	case <-time.After(3 * w.q.opt.AckWait):
	case <-ctx.Done():
	}
	m.Ack()
}

// panicError is an evaluation that gave no outcome: it panicked, or the worker
// cannot run its experiment. The job goes back to the queue for another delivery.
type panicError struct{ msg string }

func (e *panicError) Error() string { return e.msg }

// evaluate builds (once) the job's experiment's evaluator and runs it.
func (w *Worker) evaluate(ctx context.Context, j job, device string, epochs func(engine.Progress)) (out engine.Outcome, err error) {
	b, err := w.build(ctx, j.Experiment)
	if err != nil {
		// An experiment this worker cannot build (an evaluator it lacks, another
		// cellar's config) is refused, not failed: another worker may take the job.
		w.Log.Error("refused a job: this worker cannot evaluate its experiment", "trial", j.Trial, "err", err)
		return engine.Outcome{}, &panicError{fmt.Sprintf("worker %s refused it: %v", w.Name, err)}
	}
	a, err := b.space.Parse([]byte(j.Arch))
	if err != nil {
		return engine.Outcome{}, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{fmt.Sprintf("the evaluation panicked on worker %s: %v\n%s", w.Name, p, debug.Stack())}
		}
	}()
	report := func(p engine.Progress) {
		epochs(p)
		b, _ := json.Marshal(progress{Trial: j.Trial, Worker: w.Name, Progress: p})
		w.q.nc.Publish(w.q.sub.progressOf(j.Experiment, j.Trial), b)
	}
	return b.eval.Evaluate(ctx, engine.Job{Trial: j.Trial, Seed: j.Seed, Arch: a, Measured: j.Measured, Replaying: j.Replaying, Replay: j.Replay, Device: device, Judged: j.Judged}, report)
}

// build makes an experiment's evaluator from its config, once.
// Building (reading the config, loading a dataset) is done outside the worker's lock,
// once per experiment, so the heartbeat and the other slots go on meanwhile.
func (w *Worker) build(ctx context.Context, exp string) (*built, error) {
	w.mu.Lock()
	b, ok := w.built[exp]
	if !ok {
		b = &built{}
		w.built[exp] = b
	}
	w.mu.Unlock()
	b.once.Do(func() {
		// Not the job's context: a cancelled job must not leave the experiment
		// unbuildable for the jobs after it.
		gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		entry, err := w.q.configs.Get(gctx, exp)
		if err != nil {
			b.err = fmt.Errorf("experiment %s: no config on the queue: %w", exp, err)
			return
		}
		cfg, err := engine.ParseConfig(entry.Value())
		if err == nil {
			var x *engine.Experiment
			if x, err = engine.Build(cfg, entry.Value(), w.Evaluators); err == nil {
				b.space, b.eval = x.Space, x.Evaluator
			}
		}
		if err != nil {
			b.err = fmt.Errorf("experiment %s: %w", exp, err)
		}
	})
	return b, b.err
}

// sleep waits for d or until ctx ends, and says whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
