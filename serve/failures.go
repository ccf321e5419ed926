package serve

import (
	"sync"
	"time"
)

// failures counts refused keys by address: an address with limit refusals within
// window is shut out until window has passed since its first one. Entries are
// pruned as they expire, so the map holds only addresses seen within a window.
type failures struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	by     map[string]*failed
	now    func() time.Time
}

type failed struct {
	first time.Time
	n     int
}

func newFailures(limit int, window time.Duration) *failures {
	return &failures{limit: limit, window: window, by: map[string]*failed{}, now: time.Now}
}

// add counts one refused key from host.
func (f *failures) add(host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prune()
	r := f.by[host]
	if r == nil {
		r = &failed{first: f.now()}
		f.by[host] = r
	}
	r.n++
}

// blocked says host is shut out now.
func (f *failures) blocked(host string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prune()
	r := f.by[host]
	return r != nil && r.n >= f.limit
}

func (f *failures) prune() {
	now := f.now()
	for h, r := range f.by {
		if now.Sub(r.first) >= f.window {
			delete(f.by, h)
		}
	}
}
