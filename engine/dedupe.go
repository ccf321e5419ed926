package engine

import (
	"fmt"
	"maps"
	"slices"

	"cellar/spaces"
)

// Dedupe modes (Config.Dedupe): what makes two trials the same, so that the second
// is not evaluated but recorded as a duplicate of the first, at no cost.
const (
	DedupeNone     = "none"     // every trial is evaluated
	DedupeArch     = "arch"     // the same arch string
	DedupeFunction = "function" // the same function (spaces.Functional; else the arch)
)

// DefaultDedupe is what an experiment of the current defaults (Config.Defaults) takes
// when it does not say: measured on NB201, it raises the best found in 100 queries of
// every strategy that repeats itself (docs/benchmarks.md). An experiment of defaults
// 0 was made before dedupe existed and replays as it ran: with none.
const DefaultDedupe = DedupeFunction

// MaxDuplicateRun ends a search whose strategy asked this many duplicates in a row:
// it has converged, and asking on would record duplicates for ever.
const MaxDuplicateRun = 200

// dedupe is which trials are duplicates, owned by Run's goroutine. A strategy's ask
// (not a hand-made trial, which the user asked for) whose key an earlier trial has is
// a duplicate: once that trial is done, it takes its outcome without an evaluation
// and is told to the strategy as any other, so histories and replays stay whole. A
// duplicate costs no query: the trial budget and the simulated clock leave it out.
type dedupe struct {
	mode      string
	doneByKey map[string]Trial  // the first done trial of each key
	openByKey map[string]uint64 // the first trial of each key not yet final
	parked    []*slot           // duplicates of trials not yet final
	dupes     int               // duplicates among the trials asked
	dupeRun   int               // duplicates asked in a row
}

func (d *dedupe) on() bool { return d.mode == DedupeArch || d.mode == DedupeFunction }

// key is what makes a the same as another arch, in the engine's mode.
func (e *Engine) dedupeKey(a spaces.Arch) string {
	if e.mode == DedupeFunction {
		return spaces.FunctionOf(e.exp.Space, a)
	}
	return a.String()
}

// classify marks a new trial as a duplicate, or as the first of its key.
func (e *Engine) classify(s *slot) {
	if !e.on() {
		return
	}
	if e.doneByKey == nil {
		e.doneByKey, e.openByKey = map[string]Trial{}, map[string]uint64{}
	}
	key := e.dedupeKey(s.arch) // once: a scaled space builds the network for it
	s.key = key
	_, isDone := e.doneByKey[key]
	_, isOpen := e.openByKey[key]
	switch {
	case s.trial.Origin != OriginHand && (isDone || isOpen):
		s.duplicate = true
		e.dupes++
		e.dupeRun++
	case !isDone && !isOpen:
		e.openByKey[key] = s.trial.ID
		e.dupeRun = 0
	default:
		e.dupeRun = 0
	}
}

// asDuplicate is what a duplicate's evaluation returns: its first trial's outcome,
// or false while that trial is not yet done (the slot is then parked).
func (e *Engine) asDuplicate(s *slot) (finished, bool) {
	t, ok := e.doneByKey[s.key]
	if !ok {
		return finished{}, false
	}
	s.trial.Duplicate = t.ID
	out := Outcome{Metrics: maps.Clone(t.Metrics), Curve: t.Curve, Stop: t.Stop, Rungs: t.Rungs}
	return finished{s: s, outcome: out}, true
}

// settled records a final trial: a done first trial of its key releases the
// duplicates parked on it; a failed one leaves the key to the next trial of it,
// which is evaluated.
func (e *Engine) settled(s *slot) {
	if !e.on() || s.trial.Duplicate != 0 {
		return
	}
	key := s.key
	if e.openByKey[key] != s.trial.ID {
		return // a hand-made trial of a key already known
	}
	delete(e.openByKey, key)
	if s.trial.State == Done {
		e.doneByKey[key] = s.trial
	}
	var still []*slot
	for _, p := range e.parked {
		switch {
		case p.key != key:
			still = append(still, p)
		case s.trial.State == Done:
			e.requeue = append(e.requeue, p) // dispatched next, as its duplicate
		default:
			if _, ok := e.openByKey[key]; !ok { // the first of the key to be evaluated after all
				p.duplicate = false
				e.dupes--
				e.openByKey[key] = p.trial.ID
			}
			e.requeue = append(e.requeue, p)
		}
	}
	e.parked = still
}

// redo rebuilds which trials are duplicates from the stored ones and the pending
// ones of a checkpoint, in id order, as they were classified when asked.
func (e *Engine) redo(stored map[uint64]Trial, pending []*slot) {
	if !e.on() {
		return
	}
	e.doneByKey, e.openByKey = map[string]Trial{}, map[string]uint64{}
	open := map[uint64]*slot{} // the pending trials to evaluate yet
	ids := []uint64{}
	for id, t := range stored {
		if t.Final() {
			ids = append(ids, id)
		}
	}
	for _, s := range pending {
		if !s.final {
			open[s.trial.ID] = s
			ids = append(ids, s.trial.ID)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if s, ok := open[id]; ok {
			e.classify(s)
			continue
		}
		t := stored[id]
		if t.Duplicate != 0 {
			e.dupes++
			e.dupeRun++
			continue
		}
		e.dupeRun = 0
		a, err := e.exp.Space.Parse([]byte(t.Arch))
		if err != nil || t.State != Done {
			continue
		}
		if key := e.dedupeKey(a); !hasKey(e.doneByKey, key) {
			e.doneByKey[key] = t
		}
	}
}

func hasKey(m map[string]Trial, k string) bool { _, ok := m[k]; return ok }

// CheckDedupe refuses a mode that is not one, naming the ones there are.
func CheckDedupe(mode string) error {
	switch mode {
	case "", DedupeNone, DedupeArch, DedupeFunction:
		return nil
	}
	return fmt.Errorf("dedupe: %q; use function (the same function: NB201's cells are 11,155 functions), arch or none", mode)
}
