// Package testkit holds the helpers tests of several packages share. It imports
// nothing of cellar, so any package's own tests may use it.
package testkit

import (
	"testing"
	"time"
)

// WaitFor polls ok until it holds, failing the test after a generous deadline (30 s):
// tests wait on behaviour, never time it.
func WaitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
