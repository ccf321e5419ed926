package storage

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A process killed while it makes a new database leaves the file absent or whole,
// never a bbolt file without cellar's schema, which every later open would refuse.
// The child is this test binary, told by the environment to make the file.
func TestAKilledCreateLeavesNoHalfFile(t *testing.T) {
	if path := os.Getenv("CELLAR_CREATE_CHILD"); path != "" {
		if _, err := Open(path, time.Second); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	kills := 20
	if testing.Short() {
		kills = 5
	}
	for i := range kills {
		path := filepath.Join(t.TempDir(), "fresh.db")
		cmd := exec.Command(exe, "-test.run=^TestAKilledCreateLeavesNoHalfFile$")
		cmd.Env = append(os.Environ(), "CELLAR_CREATE_CHILD="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// From at once to after the child would be done: the kill lands anywhere.
		time.Sleep(time.Duration(i%10) * 3 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		if _, err := os.Stat(path); err != nil {
			continue // absent: the next search makes it
		}
		d, err := OpenReadOnly(path, time.Second)
		if err != nil {
			t.Fatalf("kill %d: the file left behind is refused: %v", i, err)
		}
		d.Close()
		if left, _ := filepath.Glob(path + ".new-*"); len(left) > 1 { // the killed child's own, at most
			t.Errorf("kill %d: temporary files left: %v", i, left)
		}
	}
}

// A new database leaves no temporary file behind, and a file made by another
// process in the meantime is used, not replaced.
func TestCreateLeavesNothingBeside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	d, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, err := d.CreateExperiment("kept", []byte("name: kept\n"))
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("beside the new database: %v", entries)
	}
	if err := createWhole(path, time.Second); err != nil { // as a second process racing the first
		t.Fatal(err)
	}
	d, err = OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Experiment(x.ID); err != nil {
		t.Errorf("the experiment made first is gone: %v", err)
	}
}
