package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// chunks is how many pieces a batch is cut into for parallel work. It is fixed, not
// the core count, so that sums over the batch (weight gradients) are added in the same
// order on every machine and results are reproducible.
const chunks = 8

// forChunks runs f over [0,n) cut into at most `chunks` contiguous pieces, in
// parallel, and returns when all are done.
//
// A training step makes about 700 such calls, many of them a few tens of
// microseconds of work. Waking a parked goroutine for each cost as much, so the
// pieces go to a team of workers that spin for a while after each call, waiting for
// the next, as OpenMP's threads do for PyTorch; they park when training pauses.
func forChunks(n int, f func(chunk, lo, hi int)) {
	k := min(chunks, n)
	switch {
	case k <= 0:
		return
	case k == 1 || runtime.GOMAXPROCS(0) == 1:
		for c := 0; c < k; c++ {
			f(c, c*n/k, (c+1)*n/k)
		}
		return
	}
	t := theTeam()
	if !t.mu.TryLock() { // the team works for another model, or f calls forChunks
		// itself: spread over goroutines
		var wg sync.WaitGroup
		for c := 0; c < k; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(c, c*n/k, (c+1)*n/k)
			}()
		}
		wg.Wait()
		return
	}
	defer t.mu.Unlock()
	j := &job{n: n, k: k, f: f}
	j.left.Store(int32(k))
	t.job.Store(j)
	t.seq.Add(1)
	for i := range t.workers {
		if t.workers[i].parked.Load() {
			select {
			case t.workers[i].wake <- struct{}{}:
			default:
			}
		}
	}
	j.work()
	for spin := 0; j.left.Load() > 0; spin++ {
		if spin%64 == 63 {
			runtime.Gosched()
		}
	}
}

// job is one forChunks call: its pieces go to whoever asks next.
type job struct {
	n, k int
	f    func(chunk, lo, hi int)
	next atomic.Int32 // the next piece to hand out
	left atomic.Int32 // pieces not yet done
}

// work runs pieces of j until none is left to hand out.
func (j *job) work() {
	for {
		c := int(j.next.Add(1)) - 1
		if c >= j.k {
			return
		}
		j.f(c, c*j.n/j.k, (c+1)*j.n/j.k)
		j.left.Add(-1)
	}
}

// team is the caller of forChunks and GOMAXPROCS-1 workers.
type team struct {
	mu      sync.Mutex // one call at a time
	job     atomic.Pointer[job]
	seq     atomic.Uint64 // calls so far
	workers []worker
}

type worker struct {
	parked atomic.Bool
	wake   chan struct{}
}

// spinFor is how long a worker waits for the next call before it parks.
const spinFor = 200 * time.Microsecond

var (
	teamOnce sync.Once
	teamOne  *team
)

func theTeam() *team {
	teamOnce.Do(func() {
		t := &team{workers: make([]worker, runtime.GOMAXPROCS(0)-1)}
		for i := range t.workers {
			w := &t.workers[i]
			w.wake = make(chan struct{}, 1)
			go t.run(w)
		}
		teamOne = t
	})
	return teamOne
}

func (t *team) run(w *worker) {
	var last uint64
	for {
		start := time.Now()
		for spin := 0; t.seq.Load() == last; spin++ {
			if spin%64 != 63 {
				continue
			}
			runtime.Gosched()
			if time.Since(start) < spinFor {
				continue
			}
			w.parked.Store(true)
			if t.seq.Load() == last { // else a call came before the flag was seen
				<-w.wake
			}
			w.parked.Store(false)
			start = time.Now()
		}
		last = t.seq.Load()
		t.job.Load().work()
	}
}
