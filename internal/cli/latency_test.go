package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cellar/engine"
	"cellar/storage"
)

// latency build times the layers of a small space into the database; check reads
// that machine's table back and compares it with end-to-end passes.
func TestLatencyBuildAndCheck(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lat.db")
	small := "[{name: nb201, channels: 4, cells: 1, input: [1, 12, 12]}]"
	empty, err := storage.Open(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	empty.Close()
	if _, err := cellar(t, "latency", "check", "--db", db, "--spaces", small, "--n", "3"); err == nil || !strings.Contains(err.Error(), "holds: none") {
		t.Fatalf("check before any build: %v", err)
	}
	// A search against latency reads the machine's table from its database.
	exp := writeExp(t, `
name: fast
seed: 1
space: {name: nb201, channels: 4, cells: 1, input: [1, 12, 12]}
strategy: {name: nsga2, population: 4}
evaluator: params
objectives: [{name: params, direction: min}, {name: latency, direction: min}]
constraints: {latency: 1000}
budget: {trials: 8}
`)
	if _, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err == nil || !strings.Contains(err.Error(), "run `cellar latency build --db F`") {
		t.Fatalf("search against latency before any build: %v", err)
	}
	out, err := cellar(t, "latency", "build", "--db", db, "--spaces", small, "--n", "20", "--reps", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "layers") {
		t.Errorf("build said %q", out)
	}
	out, err = cellar(t, "latency", "check", "--db", db, "--spaces", small, "--n", "5", "--reps", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "5 archs") || !strings.Contains(out, "spearman") {
		t.Errorf("check said %q", out)
	}
	if _, err := cellar(t, "latency", "build", "--db", db, "--spaces", "[{name: nb201, channels: -1}]"); err == nil || !strings.Contains(err.Error(), "channels") {
		t.Errorf("bad space option: %v", err)
	}
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err = cellar(t, "trials", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Trials []engine.Trial }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Trials) != 8 {
		t.Fatalf("%d trials", len(got.Trials))
	}
	for _, tr := range got.Trials {
		if tr.Metrics["latency"] <= 0 || tr.Metrics[engine.MetricViolation] != 0 {
			t.Errorf("trial %d: metrics %v", tr.ID, tr.Metrics)
		}
	}
}
