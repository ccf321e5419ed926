package engine

import (
	"errors"
	"fmt"
	"time"

	"cellar/spaces"
)

// The journal is every decision of a search, in the order it was made: each ask of
// the strategy, each hand-made trial, each tell, each steering change. A strategy is
// a deterministic function of its seed and of that sequence, so replaying the journal
// asks the same archs however the original's evaluations interleaved, and stopping
// the replay after any tell gives the state of the search at that point (a fork).

// Journal operations.
const (
	OpAsk    = "ask"
	OpInject = "inject"
	OpTell   = "tell"
	OpSteer  = "steer"
	// OpRefused is a steering change that was refused (it did not fit the search),
	// kept for the audit; it changed nothing, so a replay passes over it.
	OpRefused = "steer-refused"
)

// Entry is one journal entry. Steering entries are the audit log: who changed what,
// when, from which value to which.
type Entry struct {
	Op     string    `json:"op"`
	Trial  uint64    `json:"trial,omitempty"` // asked, injected or told; for steer, the next trial to be asked
	Arch   string    `json:"arch,omitempty"`
	Parent uint64    `json:"parent,omitempty"`
	Time   time.Time `json:"time"`
	Who    string    `json:"who,omitempty"`
	Param  string    `json:"param,omitempty"`
	Old    float64   `json:"old,omitempty"`
	New    float64   `json:"new,omitempty"`
}

// Script makes an engine follow a journal rather than its own timing: asks, hand-made
// trials and steering happen exactly where the journal has them, and every ask must
// give the arch the journal records, or the run stops with an error naming the trial.
type Script struct {
	Entries []Entry
	// Original are the original run's final trials. A replayed trial that stopped
	// early stops at the same place; with Reuse, the original outcomes are taken
	// instead of evaluating again (a fork rebuilding its history).
	Original map[uint64]Trial
	Reuse    bool
	// Until, when set, ends the script after the tell of that trial: the search then
	// goes on by itself (a fork). Without it the search ends where the journal does.
	Until uint64
}

// follow applies the script's entries up to its next tell (or its end), in place of
// the strategy's usual refill.
func (e *Engine) follow() {
	sc := e.opt.Script
	for e.scriptAt < len(sc.Entries) && e.scriptErr == nil {
		en := sc.Entries[e.scriptAt]
		switch en.Op {
		case OpTell:
			return // tellReady consumes it when that trial is told
		case OpAsk:
			cs := e.exp.Strategy.Ask(1)
			switch {
			case len(cs) == 0:
				e.scriptErr = fmt.Errorf("replay diverged at trial %d: the strategy asked nothing; the journal has %s", en.Trial, en.Arch)
			case cs[0].Arch.String() != en.Arch:
				e.scriptErr = fmt.Errorf("replay diverged at trial %d: the strategy asked %s; the journal has %s", en.Trial, cs[0].Arch, en.Arch)
			case en.Trial != e.nextID:
				e.scriptErr = fmt.Errorf("replay diverged at trial %d: it would be trial %d", en.Trial, e.nextID)
			default:
				e.enqueue(cs[0].Arch, e.exp.Strategy.Name(), cs[0].Parent, "")
			}
		case OpInject:
			a, err := e.exp.Space.Parse([]byte(en.Arch))
			if err != nil {
				e.scriptErr = fmt.Errorf("journal: hand-made trial %d: %w", en.Trial, err)
				break
			}
			e.enqueue(a, OriginHand, en.Parent, en.Who)
		case OpRefused:
		case OpSteer:
			if err := e.steer(Steer{Who: en.Who, Param: en.Param, Value: en.New}); err != nil {
				e.scriptErr = fmt.Errorf("journal: steering %s at trial %d: %w", en.Param, en.Trial, err)
			}
		default:
			e.scriptErr = fmt.Errorf("journal: unknown operation %q", en.Op)
		}
		e.scriptAt++
	}
	if e.scriptAt >= len(sc.Entries) && e.scriptErr == nil {
		e.endScript()
	}
}

// scripted says whether the engine still follows a script.
func (e *Engine) scripted() bool { return e.opt.Script != nil && !e.scriptDone }

// endScript hands the search back to the strategy (a fork) or ends it (a replay).
func (e *Engine) endScript() {
	e.scriptDone = true
	if e.opt.Script.Until == 0 {
		e.exhausted = true
	}
}

// scriptTell checks a tell against the script and moves past it.
func (e *Engine) scriptTell(id uint64) {
	if !e.scripted() {
		return
	}
	sc := e.opt.Script
	if e.scriptAt >= len(sc.Entries) || sc.Entries[e.scriptAt].Op != OpTell || sc.Entries[e.scriptAt].Trial != id {
		if e.scriptErr == nil {
			e.scriptErr = fmt.Errorf("replay diverged: trial %d was told where the journal has %+v", id, e.entryAt(e.scriptAt))
		}
		return
	}
	e.scriptAt++
	if sc.Until != 0 && id == sc.Until {
		e.endScript()
	}
}

func (e *Engine) entryAt(i int) Entry {
	if i < len(e.opt.Script.Entries) {
		return e.opt.Script.Entries[i]
	}
	return Entry{Op: "the end"}
}

// reused is a scripted trial's original outcome, when the script reuses outcomes.
func (e *Engine) reused(s *slot) (finished, bool) {
	sc := e.opt.Script
	if sc == nil || !sc.Reuse || !s.replayed {
		return finished{}, false
	}
	t, ok := sc.Original[s.trial.ID]
	if !ok || !t.Final() || (sc.Until != 0 && t.ID > sc.Until) { // after a fork's point: evaluated anew
		return finished{}, false
	}
	out := Outcome{Metrics: t.Metrics, Curve: t.Curve, Stop: t.Stop, Rungs: t.Rungs}
	if h, ok := e.exp.Evaluator.(Historian); ok && t.State == Done {
		h.Observe(t)
	}
	if t.State == Failed {
		return finished{s: s, outcome: out, err: errors.New(t.Error), taken: &t}, true
	}
	return finished{s: s, outcome: out, taken: &t}, true
}

// enqueue makes a new trial of arch and journals it.
func (e *Engine) enqueue(arch spaces.Arch, origin string, parent uint64, who string) *slot {
	s := &slot{arch: arch, replayed: e.scripted(), trial: Trial{ID: e.nextID, Arch: arch.String(), Origin: origin, Parent: parent, State: Queued, Queued: time.Now()}}
	e.nextID++
	e.classify(s)
	e.order = append(e.order, s)
	op := OpAsk
	if origin == OriginHand {
		op = OpInject
		e.hand = append(e.hand, s)
	} else {
		e.fresh = append(e.fresh, s)
	}
	e.log(Entry{Op: op, Trial: s.trial.ID, Arch: s.trial.Arch, Parent: parent, Who: who})
	e.hub.publish(Event{Kind: TrialQueued, Trial: s.trial})
	return s
}

// log adds an entry to the journal; the next commit stores it. Without a store
// (a benchmark) there is nothing to keep it in.
func (e *Engine) log(en Entry) {
	if e.opt.Store == nil {
		return
	}
	if en.Time.IsZero() {
		en.Time = time.Now().UTC()
	}
	e.journal = append(e.journal, en)
}

// replay is the journal of a run, and the script (Options.Script) it follows.
type replay struct {
	journal    []Entry // made since the last commit
	scriptAt   int     // the next entry of Options.Script to follow
	scriptDone bool
	scriptErr  error
}
