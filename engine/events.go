package engine

import (
	"cellar/learning"
	"sync"
	"sync/atomic"
)

// EventKind says what an Event reports.
type EventKind int

const (
	TrialQueued   EventKind = iota // a trial was asked for or injected
	TrialStarted                   // a worker began evaluating it
	TrialProgress                  // the evaluator reported progress (Progress is set)
	TrialFinished                  // done or failed, and durable in the store; or cancelled
	StateChanged                   // the engine's RunState changed
	LearnerReport                  // a learner (REINFORCE, DARTS, a supernet) reported progress (Report is set)
	Steered                        // a steering change was applied or refused at an ask (Entry is set)
)

// RunState is the engine's state.
type RunState string

const (
	Idle      RunState = "idle"
	Searching RunState = "searching"
	Paused    RunState = "paused"
	Stopping  RunState = "stopping" // interrupted: running trials are being cancelled
	Stopped   RunState = "stopped"  // interrupted, and what finished is stored; resumable
	Finished  RunState = "finished"
)

// Event is one change in a search. Trial is a copy the receiver may keep.
type Event struct {
	// Seq numbers the events of an engine from 1 in the order they were published.
	Seq      uint64
	Kind     EventKind
	Trial    Trial
	Progress Progress
	State    RunState
	Report   *learning.Report
	Entry    *Entry
}

// subscriberBuffer is how many events a slow subscriber may fall behind before events
// are dropped for it (it learns how many from Dropped). The engine never waits for a
// subscriber.
const subscriberBuffer = 1024

// Subscription is one subscriber's stream of events.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	dropped atomic.Uint64
	hub     *hub
}

// Dropped is how many events this subscriber missed because it fell behind.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C.
func (s *Subscription) Close() { s.hub.remove(s) }

type hub struct {
	mu   sync.Mutex
	subs map[*Subscription]bool
	shut bool
	seq  uint64 // of the last event published
}

func (h *hub) add() *Subscription {
	c := make(chan Event, subscriberBuffer)
	s := &Subscription{C: c, c: c, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shut {
		close(c)
		return s
	}
	if h.subs == nil {
		h.subs = map[*Subscription]bool{}
	}
	h.subs[s] = true
	return s
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[s] {
		delete(h.subs, s)
		close(s.c)
	}
}

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.Seq = h.seq
	for s := range h.subs {
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
}

// last is the Seq of the last event published.
func (h *hub) last() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// close ends every subscription; later ones start closed.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		close(s.c)
	}
	h.subs, h.shut = nil, true
}
