package nn

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestForChunks runs forChunks from several goroutines at once, with calls nested in
// a piece and pauses long enough for the team to park, and checks that every index
// is covered exactly once, by pieces numbered as the fixed cut says.
func TestForChunks(t *testing.T) {
	var check func(n int, nested bool)
	check = func(n int, nested bool) {
		seen := make([]atomic.Int32, n)
		forChunks(n, func(c, lo, hi int) {
			if k := min(chunks, n); lo != c*n/k || hi != (c+1)*n/k {
				t.Errorf("n=%d: piece %d is [%d,%d)", n, c, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
			if nested && c == 0 {
				check(5, false)
			}
		})
		for i := range seen {
			if v := seen[i].Load(); v != 1 {
				t.Errorf("n=%d: index %d done %d times", n, i, v)
			}
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range []int{0, 1, 3, 8, 9, 64, 1000} {
				check(n, g%2 == 0)
			}
			time.Sleep(2 * spinFor) // the workers park; the next call must wake them
			check(100, false)
		}()
	}
	wg.Wait()
}
