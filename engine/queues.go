package engine

import "time"

// queues are the trials of a run between being asked (of the strategy, or injected by
// hand) and being committed, owned by Run's goroutine.
type queues struct {
	nextID      uint64
	order       []*slot // asked and not yet told, by id
	fresh       []*slot // asked of the strategy, waiting for a worker
	hand        []*slot // injected, waiting for a worker
	requeue     []*slot // cancelled by a pause, to run again
	running     int
	uncommitted []*slot
	exhausted   bool // the strategy had nothing to ask with nothing in flight
}

// populationCache limits how often the strategy's population is read for Status: at
// most ten times a second, as a display needs, and whenever the state changes.
type populationCache struct {
	at    time.Time // when it was last read
	state RunState  // the state it was read in
}

// stale says whether the population is to be read again in state, and if so, notes
// that it is read now.
func (c *populationCache) stale(state RunState) bool {
	if time.Since(c.at) <= 100*time.Millisecond && state == c.state {
		return false
	}
	c.at, c.state = time.Now(), state
	return true
}
