package storage

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"cellar/engine"
	"cellar/internal/enginetest"
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

// A resume over trials the checkpoint says were finished but that are gone (a
// damaged file) is refused, naming them and what to run, rather than going on with
// the holes.
func TestResumeOverLostTrialsIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lost.db")
	d, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	src := "name: lost\nseed: 1\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 12}\n"
	exp := enginetest.Build(t, src)
	x, err := d.CreateExperiment("lost", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.New(exp, engine.Options{Store: x}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := x.ResumeOptions(); !errors.Is(err, ErrFinished) {
		t.Fatalf("a whole finished experiment: %v", err)
	}
	// Trials 4 and 5 go, as a damaged leaf loses them.
	if err := d.update(func(tx *bolt.Tx) error {
		tb := tx.Bucket(bucketExperiments).Bucket(key(x.ID)).Bucket(bucketTrials)
		return errors.Join(tb.Delete(key(4)), tb.Delete(key(5)))
	}); err != nil {
		t.Fatal(err)
	}
	_, err = x.ResumeOptions()
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "2 finished trials lost (4-5)") || !strings.Contains(err.Error(), "cellar salvage") {
		t.Errorf("a resume over lost trials: %v", err)
	}
	d.Close()
}
