package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"strings"
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
	// AllowCommand are the commands this worker's operator lets a command evaluator
	// run: patterns of the program's full path and its arguments, space-separated,
	// where * stands for any text ("/usr/bin/python3 /srv/nas/train.py *"). With none
	// it runs no command: what runs on a worker is its operator's to say, never a
	// job's, which anyone holding the queue's token can write.
	AllowCommand []string
	Log          *slog.Logger

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
		if err := w.q.nc.Publish(w.q.sub.worker(w.Name), b); err != nil {
			w.Log.Warn("heartbeat", "err", err)
		}
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

// run is a job's life on this worker: take it, listen for the search's word on it,
// evaluate it while telling the server it is alive, publish its outcome, and ack it
// once the search stored it (or after a while without a word).
func (w *Worker) run(ctx context.Context, m jetstream.Msg, device string) {
	j, ok := w.take(m)
	if !ok {
		return
	}
	key := fmt.Sprintf("%s.%d", j.Experiment, j.Trial)
	w.setRunning(key, true)
	defer w.setRunning(key, false)
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h, err := w.listen(j, cancel)
	if err != nil {
		// Without them a cancel, an early stop or the search's "stored" would go
		// unheard: give the job back for another delivery.
		w.Log.Error("cannot listen for the search's word on a job; giving it back", "trial", j.Trial, "err", err)
		w.settle(m, j, m.Nak, "nak")
		return
	}
	defer h.close(w.Log)
	stopAlive := w.keepAlive(m, j)
	defer stopAlive()

	started := time.Now()
	out, err := w.evaluate(jctx, j, device, func(p engine.Progress) { h.epoch(p, started) })
	if stopped := h.stopped(); stopped != nil && ctx.Err() == nil { // stopped early: what it reached is its outcome
		out, err = stopped.outcome(), nil
	} else if jctx.Err() != nil && ctx.Err() == nil { // the search cancelled it: it runs again later
		w.settle(m, j, m.Ack, "ack")
		return
	}
	if ctx.Err() != nil { // this worker stops: another takes the job
		w.settle(m, j, m.Nak, "nak")
		return
	}
	var pe *panicError
	if errors.As(err, &pe) {
		// No outcome: the job goes to another delivery, or fails the trial after
		// max_deliver (the search hears of it from the server's advisory).
		if perr := w.q.nc.Publish(fmt.Sprintf("%s.failures.%s.%d", w.q.opt.Stream, j.Experiment, j.Trial), []byte(err.Error())); perr != nil {
			w.Log.Warn("could not say why the job failed", "trial", j.Trial, "err", perr)
		}
		w.settle(m, j, m.Nak, "nak")
		return
	}
	if !w.publish(ctx, j, out, err) {
		w.settle(m, j, m.Nak, "nak")
		return
	}
	// The outcome is in its stream now, which a search (a resumed one too) reads: once
	// it says it stored it, or after a while without a word (it is gone, or the word
	// was lost in a server restart), the job is done.
	select {
	case <-h.stored:
	case <-time.After(3 * w.q.opt.AckWait):
		w.Log.Warn("no word from the search that it stored the outcome; acking the job", "trial", j.Trial)
	case <-ctx.Done():
	}
	w.settle(m, j, m.Ack, "ack")
}

// take decodes a job and checks its protocol; a job it cannot take is settled here.
func (w *Worker) take(m jetstream.Msg) (job, bool) {
	var j job
	if err := json.Unmarshal(m.Data(), &j); err != nil {
		w.Log.Error("a job that does not decode; dropping it", "subject", m.Subject(), "err", err)
		w.settle(m, j, m.Term, "term")
		return j, false
	}
	if j.Protocol != Protocol {
		w.Log.Error(fmt.Sprintf("refused a job of protocol %d: this worker speaks %d; run a worker of the search's cellar version", j.Protocol, Protocol), "trial", j.Trial)
		w.settle(m, j, func() error { return m.NakWithDelay(w.q.opt.AckWait) }, "nak")
		return j, false
	}
	return j, true
}

// settle acks, naks or terminates a job, logging a failure to: the server then
// redelivers the job after its ack wait, which a search drops as a duplicate.
func (w *Worker) settle(m jetstream.Msg, j job, f func() error, what string) {
	if err := f(); err != nil {
		w.Log.Warn("could not "+what+" the job; the server will deliver it again", "trial", j.Trial, "err", err)
	}
}

func (w *Worker) setRunning(key string, on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if on {
		w.running[key] = true
	} else {
		delete(w.running, key)
	}
}

// hearing is what a worker hears from the search about one job: a cancel, an early
// stop (with the epochs reported so far, the trial's curve), and that it stored the
// outcome.
type hearing struct {
	subs   []*nats.Subscription
	stored chan struct{}

	mu    sync.Mutex
	stop  *engine.Stop
	curve []engine.CurvePoint
}

// listen subscribes to the search's subjects about job j; cancel ends its evaluation.
func (w *Worker) listen(j job, cancel func()) (*hearing, error) {
	h := &hearing{stored: make(chan struct{}, 1)}
	for _, s := range []struct {
		subject string
		on      func(*nats.Msg)
	}{
		{w.q.sub.cancel(j.Experiment, j.Trial), func(*nats.Msg) { cancel() }},
		{w.q.sub.stop(j.Experiment, j.Trial), func(m *nats.Msg) {
			var st engine.Stop
			if json.Unmarshal(m.Data, &st) == nil {
				h.mu.Lock()
				h.stop = &st
				h.mu.Unlock()
				cancel()
			}
		}},
		{w.q.sub.stored(j.Experiment, j.Trial), func(*nats.Msg) {
			select {
			case h.stored <- struct{}{}:
			default:
			}
		}},
	} {
		sub, err := w.q.nc.Subscribe(s.subject, s.on)
		if err != nil {
			h.close(w.Log)
			return nil, fmt.Errorf("subscribe %s: %w", s.subject, err)
		}
		h.subs = append(h.subs, sub)
	}
	return h, nil
}

func (h *hearing) close(log *slog.Logger) {
	for _, s := range h.subs {
		if err := s.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			log.Warn("unsubscribe", "subject", s.Subject, "err", err)
		}
	}
}

// epoch keeps a whole epoch's report for the curve of an early stop.
func (h *hearing) epoch(p engine.Progress, started time.Time) {
	if p.Epoch >= 1 && p.Epoch == float64(int(p.Epoch)) {
		h.mu.Lock()
		h.curve = append(h.curve, engine.CurvePoint{Epoch: p.Epoch, Step: p.Step, Metrics: p.Metrics, Duration: time.Since(started).Seconds()})
		h.mu.Unlock()
	}
}

// stopped is the search's early stop of the job with the curve so far, or nil.
func (h *hearing) stopped() *earlyStop {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stop == nil {
		return nil
	}
	return &earlyStop{stop: h.stop, curve: h.curve}
}

type earlyStop struct {
	stop  *engine.Stop
	curve []engine.CurvePoint
}

// outcome is what a stopped training reached: its curve, the last epoch's metrics.
func (e *earlyStop) outcome() engine.Outcome {
	out := engine.Outcome{Curve: e.curve, Stop: e.stop, Metrics: map[string]float64{}}
	if n := len(e.curve); n > 0 {
		out.Metrics = e.curve[n-1].Metrics
	}
	return out
}

// keepAlive tells the server the job is alive while it runs and until it is stored;
// the returned func stops it and waits for it.
func (w *Worker) keepAlive(m jetstream.Msg, j job) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(w.q.opt.AckWait/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := m.InProgress(); err != nil {
					w.Log.Warn("could not tell the server the job is alive", "trial", j.Trial, "err", err)
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// publish puts the job's outcome (or its error) in the results stream, trying again
// while the server is away; false when the worker stops first.
func (w *Worker) publish(ctx context.Context, j job, out engine.Outcome, evalErr error) bool {
	r := result{Protocol: Protocol, Experiment: j.Experiment, Trial: j.Trial, Worker: w.Name, Arch: j.Arch, Nonce: j.Nonce, Outcome: out}
	if evalErr != nil {
		r.Error = evalErr.Error()
	}
	b, err := json.Marshal(r)
	if err != nil { // a metric of NaN or Inf: say so as the trial's error
		r.Outcome, r.Error = engine.Outcome{}, fmt.Sprintf("the outcome does not encode: %v", err)
		b, _ = json.Marshal(r)
	}
	for {
		_, err := w.q.js.Publish(ctx, w.q.sub.result(j.Experiment, j.Trial), b)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		w.Log.Warn("publish outcome; trying again", "trial", j.Trial, "err", err)
		if !sleep(ctx, 500*time.Millisecond) {
			return false
		}
	}
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
		if err := w.q.nc.Publish(w.q.sub.progressOf(j.Experiment, j.Trial), b); err != nil {
			w.Log.Warn("progress", "trial", j.Trial, "err", err)
		}
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
			if x, err = engine.Build(cfg, entry.Value(), w.guarded()); err == nil {
				b.space, b.eval = x.Space, x.Evaluator
			}
		}
		if err != nil {
			b.err = fmt.Errorf("experiment %s: %w", exp, err)
		}
	})
	return b, b.err
}

// guarded are the worker's evaluator factories with the command evaluator's held to
// AllowCommand (a cascade's rungs are built from these too).
func (w *Worker) guarded() map[string]engine.EvaluatorFactory {
	evals := maps.Clone(w.Evaluators)
	command, ok := evals["command"]
	if !ok {
		return evals
	}
	evals["command"] = func(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
		ev, err := command(c, env)
		if err != nil {
			return nil, err
		}
		cmd, ok := ev.(*evaluators.Command)
		if !ok {
			return nil, errors.New("the command evaluator is not one this worker can check")
		}
		line := strings.Join(cmd.Argv(), " ")
		for _, p := range w.AllowCommand {
			if globMatch(p, line) {
				return ev, nil
			}
		}
		if len(w.AllowCommand) == 0 {
			return nil, fmt.Errorf("this worker runs no commands (%q asked for): its operator allows them with cellar worker --allow-command PATTERN", line)
		}
		return nil, fmt.Errorf("this worker's operator does not allow %q (allowed: %s)", line, strings.Join(w.AllowCommand, "; "))
	}
	return evals
}

// globMatch says whether s matches pattern, where * stands for any text (slashes and
// spaces too) and everything else for itself.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 { // the last part ends the text
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return s == ""
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
