// Package testkit holds the helpers tests of several packages share. It imports
// nothing of cellar, so any package's own tests may use it.
package testkit

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Deadline is how long a test waits for anything before it fails saying what it waited
// for: generous, since these machines are shared and noisy; tests wait on behaviour,
// never time it.
const Deadline = 30 * time.Second

// WaitFor polls ok until it holds, failing the test after Deadline.
func WaitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Python is a python3 that imports every one of modules (Debian's python3-torch and
// python3-onnx, say, which CI installs), or skips the test naming the packages to
// install. Debian's /usr/bin/python3 is tried first: a python3 earlier on PATH (pyenv)
// may lack them.
func Python(t testing.TB, modules ...string) string {
	t.Helper()
	code := "import " + strings.Join(modules, ", ")
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", code).Run() == nil {
			return p
		}
	}
	pkgs := make([]string, len(modules))
	for i, m := range modules {
		pkgs[i] = "python3-" + m
	}
	t.Skipf("no python3 with %s (apt-get install %s); skipping the checks by the real tools", strings.Join(modules, " and "), strings.Join(pkgs, " "))
	return ""
}

// Buffer is a bytes.Buffer that a program writes from its goroutines while a test
// reads it (a log, a terminal program's output).
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Receive takes one value from ch, failing the test after Deadline naming what it
// waited for (a closed channel fails it too). Use it for every receive a test blocks
// on, so a hang reads as a failure that says where.
func Receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("waiting for %s: the channel was closed", what)
		}
		return v
	case <-timer.C:
		t.Fatalf("gave up waiting for %s", what)
	}
	var zero T
	return zero
}

// Wait blocks until done is closed or gives a value, failing the test after Deadline
// naming what it waited for.
func Wait(t testing.TB, done <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("gave up waiting for %s", what)
	}
}

// Send puts v on ch, failing the test after Deadline naming what it waited for.
func Send[T any](t testing.TB, ch chan<- T, v T, what string) {
	t.Helper()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case ch <- v:
	case <-timer.C:
		t.Fatalf("gave up waiting to hand over %s", what)
	}
}

// Sweep runs f as one subtest per case, named by the case's fmt.Sprint, so a failure
// names its case. The full suite runs every case; -short runs those that short keeps
// (with short nil, the first case alone: put the representative one first), so the
// quick loop keeps one case of each sweep and the whole sweep still runs in CI.
func Sweep[C any](t *testing.T, cases []C, short func(C) bool, f func(t *testing.T, c C)) {
	t.Helper()
	ran := 0
	for i, c := range cases {
		if testing.Short() && ((short == nil && i > 0) || (short != nil && !short(c))) {
			continue
		}
		ran++
		t.Run(fmt.Sprint(c), func(t *testing.T) { f(t, c) })
	}
	if ran == 0 {
		t.Fatal("the sweep's -short selection keeps no case")
	}
}

// Long skips a slow test (or subtest) under -short, saying what the full suite runs:
// real training over many archs, a process killed and resumed, a whole statistical
// sweep. The quick loop must still prove the behaviour in a smaller case elsewhere.
func Long(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("slow (%s): runs in the full suite, go test without -short", what)
	}
}
