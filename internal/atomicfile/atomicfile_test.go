package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// Replace puts the new contents in place and leaves no temporary file; a failed
// replacement leaves the old file as it was and no temporary file either.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.csv")
	for _, body := range []string{"first\n", "second, longer\n"} {
		if err := Replace(path, []byte(body)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != body {
			t.Errorf("got %q, want %q", got, body)
		}
	}
	// A directory where the file should be: the rename fails.
	blocked := filepath.Join(dir, "d")
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(blocked, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Replace(blocked, []byte("x")); err == nil {
		t.Error("replacing a non-empty directory succeeded")
	}
	if err := Replace(filepath.Join(dir, "missing", "f"), []byte("x")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in the directory: %v, want f.csv and d", names)
	}
	if got, _ := os.ReadFile(path); string(got) != "second, longer\n" {
		t.Errorf("after the failures: %q", got)
	}
}
