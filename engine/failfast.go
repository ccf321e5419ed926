package engine

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DefaultFailFast is how many trials may fail, with none done, before a search of the
// current defaults (Config.Defaults 1) stops: a typo in a trainer's path, a space that
// does not fit the data, fail every trial alike, and a budget of them teaches nothing.
const DefaultFailFast = 5

// ErrFailing is what Run returns when the search stopped because its first trials
// all failed (Config.FailFast); Failure says why, as the status does.
type ErrFailing struct {
	Failed  int
	Failure Failure
}

func (e *ErrFailing) Error() string {
	return fmt.Sprintf("the first %d trials all failed, none done, so the search stopped (fail_fast; fix what fails, then resume): %s", e.Failed, e.Failure.Reason)
}

// Failure is the commonest reason trials failed for: one trial's error, how many
// failed with it and of how many failed in all, and the last lines that trial printed.
type Failure struct {
	Reason string
	Count  int
	Of     int
	Trial  uint64
	Log    []string
}

// failures tallies the failed trials' reasons, owned by Run's goroutine.
type failures struct {
	byReason map[string]*Failure
	failed   int
	gaveUp   bool // FailFast trials failed with none done: asks stop, Run returns ErrFailing
}

// noteFinal counts a told trial; with FailFast, the search gives up when that many
// have failed and none is done.
func (e *Engine) noteFinal(t Trial) {
	if t.State != Failed {
		return
	}
	if e.byReason == nil {
		e.byReason = map[string]*Failure{}
	}
	e.failed++
	f, ok := e.byReason[t.Error]
	if !ok {
		f = &Failure{Reason: t.Error, Trial: t.ID, Log: t.Log}
		e.byReason[t.Error] = f
	}
	f.Count++
	e.mu.Lock()
	e.status.Failure = e.commonest()
	done := e.status.Done
	e.mu.Unlock()
	if n := e.exp.Config.FailFast; n != nil && *n > 0 && done == 0 && e.failed >= *n {
		e.gaveUp = true
	}
}

// commonest is the reason most trials failed for (ties to the first seen), or nil.
func (e *Engine) commonest() *Failure {
	if len(e.byReason) == 0 {
		return nil
	}
	all := slices.SortedFunc(maps.Values(e.byReason), func(a, b *Failure) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Trial, b.Trial))
	})
	f := *all[0]
	f.Of = e.failed
	return &f
}

// String is the failure in a line, with the tail of what the trial printed.
func (f Failure) String() string {
	s := fmt.Sprintf("%d of %d failed trials, as trial %d: %s", f.Count, f.Of, f.Trial, f.Reason)
	if len(f.Log) > 0 {
		tail := f.Log[max(len(f.Log)-5, 0):]
		s += "\n  its last lines:\n    " + strings.Join(tail, "\n    ")
	}
	return s
}
