//go:build unix

package evaluators

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cellar/spaces"
)

// A table path that is not a regular file is refused at once: a named pipe would
// wait for a writer for ever, /dev/zero read without end.
func TestTableRefusesWhatIsNotAFile(t *testing.T) {
	sp, _ := spaces.NewNB201(spaces.DefaultNB201)
	fifo := filepath.Join(t.TempDir(), "table.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipe here: %v", err)
	}
	for _, path := range []string{fifo, "/dev/zero"} {
		if _, err := LoadTable(path, sp, ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v, want it refused as not a regular file", path, err)
		}
	}
}
