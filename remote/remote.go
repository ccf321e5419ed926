// Package remote evaluates a search's trials on other machines: the search publishes
// each trial as a job on a NATS JetStream work queue (Evaluator), and `cellar worker`
// processes (Worker) pull jobs, evaluate them with the experiment's own evaluator and
// publish the outcomes, which the search stores. Nothing is lost when a worker or the
// search dies: a job is acked only once the search has stored its outcome (a job
// whose worker died is delivered again after the ack wait), outcomes are kept in a
// stream of their own until then (a resumed search finds them there), and an outcome
// that comes twice is dropped by trial id.
//
// Subjects, under the stream's name S:
//
//	S.jobs.EXP.TRIAL      a job (work queue stream S)
//	S.results.EXP.TRIAL   an outcome (stream S_results)
//	S.progress.EXP.TRIAL  a running trial's reports (core NATS)
//	S.cancel.EXP.TRIAL    the search no longer wants a trial (core NATS)
//	S.stop.EXP.TRIAL      the search's early stop of a trial (core NATS)
//	S.stored.EXP.TRIAL    the search has stored a trial's outcome (core NATS)
//	S.failures.EXP.TRIAL  why a worker gave a job back without an outcome (core NATS)
//	S.workers.NAME        a worker's heartbeat (core NATS)
//
// EXP is the experiment's identity (storage.Experiment.Identity), random and its
// own. The experiment's config is in the key-value bucket S_experiments under EXP, so
// a worker builds its evaluator once. A job carries a random nonce; the search takes
// an outcome only when it names the nonce and arch of a job it sent.
package remote

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"cellar/engine"

	"github.com/nats-io/nats.go"
)

// Protocol is the version of the jobs and outcomes this code reads and writes; a
// worker refuses a job of another version, naming both.
const Protocol = 1

// Options say where the queue is and how it behaves.
type Options struct {
	Stream     string        // the work queue's name (cellar)
	AckWait    time.Duration // how long a worker may go silent before its job goes to another (30s)
	MaxDeliver int           // deliveries of a job before its trial fails (3)
	// Log is where the search's side of the queue says what it could not do (a word
	// to a worker that did not go out, a spent job it could not delete); nil
	// discards it.
	Log *slog.Logger
}

// DefaultOptions are the defaults of Options.
var DefaultOptions = Options{Stream: engine.DefaultNATS.Stream, AckWait: engine.DefaultNATS.AckWait, MaxDeliver: engine.DefaultNATS.MaxDeliver}

// withDefaults fills what an experiment's execution.nats left out.
func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = DefaultOptions.Stream
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultOptions.AckWait
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = DefaultOptions.MaxDeliver
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// job is a trial to evaluate: engine.Job's fields, by value.
type job struct {
	Protocol   int                `json:"protocol"`
	Experiment string             `json:"experiment"` // the experiment's identity (storage.Experiment.Identity)
	Trial      uint64             `json:"trial"`
	Seed       uint64             `json:"seed"`
	Arch       string             `json:"arch"`
	Measured   map[string]float64 `json:"measured,omitempty"`
	Replaying  bool               `json:"replaying,omitempty"`
	Replay     *engine.Stop       `json:"replay,omitempty"`
	// Judged: the search judges early stopping from the epoch reports and sends a
	// stop (S.stop.EXP.TRIAL), which the worker obeys.
	Judged bool `json:"judged,omitempty"`
	// Nonce is this job's own random name: the search takes an outcome only when it
	// names the nonce (and the arch) of a job it published and has not stored.
	Nonce string `json:"nonce"`
}

// result is a worker's outcome of a job.
type result struct {
	Protocol   int            `json:"protocol"`
	Experiment string         `json:"experiment"`
	Trial      uint64         `json:"trial"`
	Worker     string         `json:"worker"`
	Arch       string         `json:"arch"`  // the job's, echoed
	Nonce      string         `json:"nonce"` // the job's, echoed
	Outcome    engine.Outcome `json:"outcome"`
	Error      string         `json:"error,omitempty"`
}

// progress is a running trial's report.
type progress struct {
	Trial    uint64          `json:"trial"`
	Worker   string          `json:"worker"`
	Progress engine.Progress `json:"progress"`
}

// Heartbeat is what a worker says of itself every few seconds.
type Heartbeat struct {
	Name     string    `json:"name"`
	Host     string    `json:"host"`
	Slots    int       `json:"slots"`
	Running  []string  `json:"running"` // EXP.TRIAL of the jobs it runs
	Protocol int       `json:"protocol"`
	Time     time.Time `json:"time"`
}

// subjects of one stream.
type subjects struct{ s string }

func (n subjects) jobs(exp string, trial uint64) string {
	return fmt.Sprintf("%s.jobs.%s.%d", n.s, exp, trial)
}
func (n subjects) results(exp string) string { return fmt.Sprintf("%s.results.%s.*", n.s, exp) }
func (n subjects) result(exp string, trial uint64) string {
	return fmt.Sprintf("%s.results.%s.%d", n.s, exp, trial)
}
func (n subjects) progress(exp string) string { return fmt.Sprintf("%s.progress.%s.*", n.s, exp) }
func (n subjects) progressOf(exp string, trial uint64) string {
	return fmt.Sprintf("%s.progress.%s.%d", n.s, exp, trial)
}
func (n subjects) cancel(exp string, trial uint64) string {
	return fmt.Sprintf("%s.cancel.%s.%d", n.s, exp, trial)
}
func (n subjects) stored(exp string, trial uint64) string {
	return fmt.Sprintf("%s.stored.%s.%d", n.s, exp, trial)
}
func (n subjects) workers() string           { return n.s + ".workers.*" }
func (n subjects) worker(name string) string { return n.s + ".workers." + name }
func (n subjects) resultsStream() string     { return n.s + "_results" }
func (n subjects) bucket() string            { return n.s + "_experiments" }

// Workers listens for the workers' heartbeats on stream's subjects for wait and
// returns the latest of each, by name.
func Workers(nc *nats.Conn, stream string, wait time.Duration) (map[string]Heartbeat, error) {
	w, err := Watch(nc, stream)
	if err != nil {
		return nil, err
	}
	time.Sleep(wait) // listening for heartbeats: the wait is the measurement, not a synchronisation
	w.Close()
	out := map[string]Heartbeat{}
	for _, hb := range w.Workers() {
		out[hb.Name] = hb
	}
	return out, nil
}

// Watcher keeps the latest heartbeat of every worker of a stream.
type Watcher struct {
	mu  sync.Mutex
	hbs map[string]Heartbeat
	sub *nats.Subscription
}

// Watch starts keeping the workers' heartbeats.
func Watch(nc *nats.Conn, stream string) (*Watcher, error) {
	w := &Watcher{hbs: map[string]Heartbeat{}}
	var err error
	w.sub, err = nc.Subscribe(subjects{stream}.workers(), func(m *nats.Msg) {
		var hb Heartbeat
		if json.Unmarshal(m.Data, &hb) == nil {
			w.mu.Lock()
			hb.Time = time.Now() // when it was heard, by this clock
			w.hbs[hb.Name] = hb
			w.mu.Unlock()
		}
	})
	return w, err
}

// Workers are the latest heartbeats, by worker.
func (w *Watcher) Workers() []Heartbeat {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Heartbeat, 0, len(w.hbs))
	for _, hb := range w.hbs {
		out = append(out, hb)
	}
	return out
}

// Close stops watching.
func (w *Watcher) Close() { w.sub.Unsubscribe() }

func (n subjects) stop(exp string, trial uint64) string {
	return fmt.Sprintf("%s.stop.%s.%d", n.s, exp, trial)
}
