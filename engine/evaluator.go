package engine

import (
	"context"

	"cellar/spaces"
)

// Evaluator turns an architecture into metrics: the contract between the engine and
// every evaluator, built in or a user's. Evaluate is called from several worker
// goroutines at once and must be safe for that; it should return promptly once ctx
// is done (a pause that cancels, a stop, the time budget). progress may be nil.
//
// Beyond Evaluate, an evaluator may implement the optional interfaces below, and the
// engine uses them: Stateful (state kept in checkpoints, for an exact resume),
// LargeStateful (a large piece of that state, stored only when it changes),
// Historian (decisions that depend on the trials seen, given the outcomes a fork
// takes from its original), and learning.Learner (epochs of its own that the engine
// runs between trials, as a one-shot supernet does).
type Evaluator interface {
	// Metrics lists the metric names Evaluate returns, so objectives can be checked
	// before a search starts.
	Metrics() []string
	Evaluate(ctx context.Context, job Job, progress func(Progress)) (Outcome, error)
}

// Job is everything the engine tells an evaluator about one evaluation. Outside a
// search (cellar train, a benchmark of proxies) only Arch is set.
type Job struct {
	// Experiment is the stored experiment's id (0 when the search stores nothing).
	Experiment uint64
	// Trial is the trial's id, 0 outside a search.
	Trial uint64
	// Seed is the trial's own seed (TrialSeed of the experiment's seed and the id):
	// an evaluator that draws random numbers draws them from it, so a trial gives
	// the same result whichever worker runs it, and again on resume.
	Seed uint64
	Arch spaces.Arch
	// Measured are the IR's values the engine measured before the evaluation
	// (params, flops, latency, as objectives and limits need them).
	Measured map[string]float64
	// Replaying marks a replay; Replay, when set, is where the trial stopped when
	// it first ran, so that a replay stops it at the same place rather than ranking
	// it against a different history.
	Replaying bool
	Replay    *Stop
	// Dir is a directory of the experiment's own, beside its database, where an
	// evaluator keeps files (a command's trial directories, trained weights); empty
	// when the search stores nothing.
	Dir string
	// Device is the accelerator (a GPU id) this evaluation has to itself, when the
	// machine running it hands one to each slot (cellar worker --devices); empty
	// otherwise.
	Device string
	// Judged says that early stopping is judged elsewhere (by the search, for a
	// trial on a remote worker), which ends the evaluation when it decides: the
	// evaluator does not stop it on its own.
	Judged bool
	// Hand marks a trial made by hand (Engine.Inject). A cascade takes it up every
	// rung: the user asked for it, and its full evaluation checks the cheap rungs'
	// ranking on an arch they did not pick.
	Hand bool
}

// EpochJudge is an evaluator that stops trainings early by their epoch reports (the
// early_stop of train and command). A search whose trials run elsewhere judges them
// with it, from the reports that come back: Judge gives a trial's decision after each
// epoch (nil when the evaluator stops nothing), Finished records a trial trained to
// the end.
type EpochJudge interface {
	Judge(job Job) func(epoch int, metrics map[string]float64) (bool, *Stop)
	Finished(job Job, curve []CurvePoint)
}

// Stateful is an evaluator whose state goes into checkpoints: State after every
// commit, Restore on resume before any trial runs.
type Stateful interface {
	State() ([]byte, error)
	Restore([]byte) error
}

// LargeStateful is a part of a search, a strategy or an evaluator, whose state has a
// large piece that changes only when it learns: a supernet's weights. Its State
// leaves that piece out. The engine stores the piece apart from the checkpoint, and
// only in commits where its version has changed (after an epoch), so a trial's
// commit does not write the weights again; on resume it hands the piece back with
// RestoreLargeState before Restore.
type LargeStateful interface {
	LargeState() (version int, data []byte, err error)
	RestoreLargeState(data []byte) error
}

// Historian is an evaluator whose decisions depend on the trials it has seen (a
// cascade's rungs, early stopping's curves): a fork hands it the outcomes it takes
// from the original instead of evaluating, so it judges later trials against the
// same history.
type Historian interface {
	Observe(t Trial)
}

// Laddered is an evaluator that promotes trials through rungs of growing cost (a
// cascade): its outcomes carry Rungs, the TUI and trials --rungs show how well each
// rung ranks the next, and a trial it stops before the last rung has the Stop rule
// StopCascade.
type Laddered interface {
	Evaluator
	// RungEvaluators names each rung's evaluator, cheapest first.
	RungEvaluators() []string
}

// Wrapper is an evaluator that hands the work to another (the remote queue hands it
// to the experiment's own evaluator on workers): an optional interface of the one it
// wraps is still there for those who ask with As.
type Wrapper interface {
	Unwrap() Evaluator
}

// As finds the first evaluator in e's chain of wrappers that is a T: an optional
// interface of the experiment's evaluator, however it is run.
func As[T any](e Evaluator) (T, bool) {
	for e != nil {
		if t, ok := e.(T); ok {
			return t, true
		}
		w, ok := e.(Wrapper)
		if !ok {
			break
		}
		e = w.Unwrap()
	}
	var zero T
	return zero, false
}

// Outcome is what an evaluation measured.
type Outcome struct {
	Metrics map[string]float64
	Curve   []CurvePoint // the learning curve, for evaluators that train
	Stop    *Stop        // set when the evaluation stopped early (multi-fidelity)
	Rungs   []RungResult // each rung's result, for a cascade
	// Log is what the evaluation printed that was not a report (an external
	// command's output, its last lines), kept with the trial, failed ones too: an
	// evaluator returning an error may return its Log with it.
	Log []string
}

// CurvePoint is one point of a learning curve.
type CurvePoint struct {
	Epoch    float64            `json:"epoch"`
	Step     int                `json:"step"`
	Metrics  map[string]float64 `json:"metrics"`
	Duration float64            `json:"seconds"` // since the trial started
}

// Progress is an evaluator's report while it runs, e.g. after each epoch.
type Progress struct {
	Epoch   float64            `json:"epoch"`
	Step    int                `json:"step"`
	Message string             `json:"message,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
}
