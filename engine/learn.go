package engine

import (
	"cellar/learning"
	"context"
	"fmt"
)

// Learners (DARTS, the one-shot evaluator) train a model of their own before the
// search can go on. The engine runs one epoch at a time on a goroutine of its own,
// dispatches no trial meanwhile (the learner's model is not ready, and the learner
// must not be touched while it trains), and commits a checkpoint with the learner's
// state after every epoch, so a restart loses at most the epoch under way. A pause
// lets the epoch finish; a pause that cancels, a stop or the time budget cancel it,
// and the learner comes back to its state before the epoch.

// learnerName names the part that is learning, for errors and the status.
func (e *Engine) learnerName(l learning.Learner) string {
	if any(l) == any(e.exp.Evaluator) {
		return e.exp.Config.Evaluator.Name
	}
	return e.exp.Strategy.Name()
}

// pendingLearner is the part that wants an epoch now: the evaluator first (trials
// need it), then the strategy. Called only while no epoch runs.
func (e *Engine) pendingLearner() learning.Learner {
	for _, x := range []any{e.exp.Evaluator, e.exp.Strategy} {
		if l, ok := x.(learning.Learner); ok && l.Learning() {
			return l
		}
	}
	return nil
}

// startLearning starts the next epoch of l.
func (e *Engine) startLearning(ctx context.Context, l learning.Learner) {
	lctx, cancel := context.WithCancel(ctx)
	e.learning, e.learnCancel = l, cancel
	name := e.learnerName(l)
	e.mu.Lock()
	e.status.Learning = name
	e.mu.Unlock()
	go func() {
		err := l.Learn(lctx)
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
		e.learnDone <- learnResult{err: err, cancelled: lctx.Err() != nil}
	}()
}

// learnResult is how an epoch ended.
type learnResult struct {
	err       error
	cancelled bool // by a pause, a stop or the time budget: the epoch runs again later
}

// learned takes an epoch's end back on the engine's goroutine. An error other than
// a cancellation ends the search.
func (e *Engine) learned(r learnResult) error {
	e.learnCancel()
	e.learning, e.learnCancel = nil, nil
	e.mu.Lock()
	e.status.Learning = ""
	e.mu.Unlock()
	if r.cancelled {
		return nil
	}
	if r.err != nil {
		return r.err
	}
	// Durable first: a viewer told of the epoch may count on it surviving a crash.
	if err := e.commit(); err != nil {
		return err
	}
	e.publishReports()
	return nil
}

// publishReports publishes the reports the learners made since the last call, and
// keeps them all in the status.
func (e *Engine) publishReports() { e.takeReports(true) }

// takeReports adds the learners' new reports to the status and marks them seen,
// publishing them when publish is set (not those restored from a checkpoint: they
// are history, which viewers read from the status).
func (e *Engine) takeReports(publish bool) {
	for _, x := range []any{e.exp.Evaluator, e.exp.Strategy} {
		r, ok := x.(learning.Reporter)
		if !ok {
			continue
		}
		reports := r.Reports()
		if len(reports) == 0 {
			continue
		}
		seen := e.reported[reports[len(reports)-1].Source]
		i := len(reports) // the new ones are at the end
		for i > 0 && reports[i-1].Step > seen {
			i--
		}
		for _, rep := range reports[i:] {
			e.reported[rep.Source] = rep.Step
			e.mu.Lock()
			e.status.Reports = learning.AppendReport(e.status.Reports, rep)
			e.mu.Unlock()
			if publish {
				e.hub.publish(Event{Kind: LearnerReport, Report: &rep})
			}
		}
	}
}

// learner is the state of the learner's epochs, owned by Run's goroutine.
type learner struct {
	learning    learning.Learner // the learner whose epoch runs, or nil
	largeAt     map[string]int   // the LargeState versions committed, by part
	learnCancel context.CancelFunc
	learnDone   chan learnResult
	reported    map[string]int // the last report step published, by source
}
