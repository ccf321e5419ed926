//go:build unix

package storage

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cellar/internal/testkit"
)

// A named pipe as --db is refused before anything opens it (opening a pipe for
// reading waits for a writer for ever): by every way in, snapshot and check too.
func TestANamedPipeIsRefused(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "pipe.db")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipe here: %v", err)
	}
	opens := map[string]func() error{
		"Open":         func() error { _, err := Open(fifo, time.Second); return err },
		"OpenReadOnly": func() error { _, err := OpenReadOnly(fifo, time.Second); return err },
		"OpenSnapshot": func() error { _, err := OpenSnapshot(fifo, time.Second); return err },
		"Check":        func() error { _, err := Check(fifo); return err },
	}
	for name, open := range opens {
		done := make(chan error, 1)
		go func() { done <- open() }()
		if err := testkit.Receive(t, done, name+" on a named pipe to return"); err == nil || !strings.Contains(err.Error(), "a named pipe, not a regular file") {
			t.Errorf("%s: %v, want it refused as a named pipe", name, err)
		}
	}
}
