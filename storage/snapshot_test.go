package storage

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cellar/engine"
)

// While a search commits trial after trial (every 2 ms, a fast table search), a reader's snapshot is always one whole
// commit: every trial up to the checkpoint's NextID and none after, bbolt's check
// passes, and the copy is gone after Close.
func TestSnapshotWhileASearchCommits(t *testing.T) {
	db, path := openTemp(t)
	x, err := db.CreateExperiment("held", []byte("name: held\n"))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		pad := strings.Repeat("x", 3000) // trials over several pages, so commits move many
		for id := uint64(1); ; id++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			tr := engine.Trial{ID: id, Arch: fmt.Sprintf("a%d", id), State: engine.Done, Error: pad, Metrics: map[string]float64{"acc": float64(id)}}
			if err := x.Commit([]engine.Trial{tr}, engine.Checkpoint{Strategy: []byte(`{}`), NextID: id + 1}); err != nil {
				done <- err
				return
			}
			time.Sleep(2 * time.Millisecond) // a trial's evaluation: a fast table search's pace
		}
	}()
	defer func() {
		close(stop)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}()
	if _, err := OpenReadOnly(path, 20*time.Millisecond); err == nil {
		t.Fatal("a read-only open of a held file succeeded; this test needs the lock held")
	}
	seen := 0
	for i := 0; i < 20; i++ {
		snap, err := OpenSnapshot(path, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Snapshot().IsZero() || snap.Path() != path {
			t.Errorf("a snapshot must say so and name the original: %v %s", snap.Snapshot(), snap.Path())
		}
		copyPath := snap.snapshotFile
		if err := snap.Check(); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		sx, err := snap.Experiment(x.ID)
		if err != nil {
			t.Fatal(err)
		}
		trials, err := sx.Trials()
		if err != nil {
			t.Fatal(err)
		}
		cp, err := sx.Checkpoint()
		if err != nil {
			t.Fatal(err)
		}
		n := uint64(len(trials))
		if cp == nil && n != 0 || cp != nil && cp.NextID != n+1 {
			t.Fatalf("snapshot %d: %d trials with checkpoint %+v: not one commit", i, n, cp)
		}
		for j, tr := range trials {
			if tr.ID != uint64(j+1) || tr.Metrics["acc"] != float64(j+1) {
				t.Fatalf("snapshot %d: trial %d is %+v", i, j+1, tr.ID)
			}
		}
		seen = max(seen, len(trials))
		snap.Close()
		if _, err := os.Stat(copyPath); !os.IsNotExist(err) {
			t.Errorf("the copy %s is left after Close: %v", copyPath, err)
		}
	}
	if seen == 0 {
		t.Error("no snapshot saw a trial")
	}
}

// A commit during the copy makes the snapshot copy again; a copy whose newer meta is
// a commit it does not hold whole reads the commit it does.
func TestSnapshotCopiesAgainAfterACommitAndPinsItsCommit(t *testing.T) {
	db, path := openTemp(t)
	x, err := db.CreateExperiment("held", []byte("name: held\n"))
	if err != nil {
		t.Fatal(err)
	}
	commit := func(id uint64) {
		t.Helper()
		tr := engine.Trial{ID: id, Arch: fmt.Sprintf("a%d", id), State: engine.Done}
		if err := x.Commit([]engine.Trial{tr}, engine.Checkpoint{Strategy: []byte(`{}`), NextID: id + 1}); err != nil {
			t.Fatal(err)
		}
	}
	commit(1)
	copies := 0
	afterCopy = func() {
		if copies++; copies == 1 {
			commit(2)
		}
	}
	defer func() { afterCopy = nil }()
	tmp, err := snapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp)
	if copies != 2 {
		t.Errorf("%d copies; a commit during the first must make a second", copies)
	}
	afterCopy = nil

	// Pin a copy holding commits up to trial 2 to the commit before (trial 1 only):
	// bbolt then reads that one, as it would a copy whose newest meta is torn.
	before, err := newestMeta(path)
	if err != nil {
		t.Fatal(err)
	}
	commit(3)
	torn, err := copyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(torn)
	if err := pinMeta(torn, before); err != nil {
		t.Fatal(err)
	}
	snap, err := OpenReadOnly(torn, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	sx, _ := snap.Experiment(x.ID)
	trials, err := sx.Trials()
	if err != nil || len(trials) != 2 {
		t.Errorf("the pinned copy reads %d trials (%v), want the 2 of its commit", len(trials), err)
	}
}
