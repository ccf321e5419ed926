package storage

import (
	"path/filepath"
	"testing"
	"time"

	"cellar/latency"
)

func TestLatencyTablesByMachine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lat.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a := latency.Machine{CPU: "cpu A", Threads: 2, BLAS: "gonum"}
	b := latency.Machine{CPU: "cpu A", Threads: 4, BLAS: "gonum"}
	if got, err := db.Latency(a); err != nil || got != nil {
		t.Fatalf("empty database: table %v, error %v", got, err)
	}
	if err := db.PutLatency(&latency.Table{Machine: a, Batch: 1, Overhead: 0.5, Ops: map[string]float64{"relu 1x2x2": 0.25}}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutLatency(&latency.Table{Machine: b, Batch: 1, Ops: map[string]float64{"relu 1x2x2": 0.125}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := ro.Latency(a)
	if err != nil || got == nil {
		t.Fatalf("table of %s: %v, %v", a.Key(), got, err)
	}
	if got.Ops["relu 1x2x2"] != 0.25 || got.Overhead != 0.5 {
		t.Errorf("machine A's table came back as %+v", got)
	}
	if other, _ := ro.Latency(b); other == nil || other.Ops["relu 1x2x2"] != 0.125 {
		t.Errorf("machine B's table came back as %+v", other)
	}
	ms, err := ro.LatencyMachines()
	if err != nil || len(ms) != 2 {
		t.Errorf("machines %v, %v; want both", ms, err)
	}
}
