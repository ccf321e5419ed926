// Package testkit holds the helpers tests of several packages share. It imports
// nothing of cellar, so any package's own tests may use it.
package testkit

import (
	"bytes"
	"os/exec"
	"strings"
	"sync"
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
