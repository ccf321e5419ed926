package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cellar/engine"
	"cellar/internal/testtable"
	"cellar/storage"
)

// A search on a simulated clock spends a simulated time budget: each stored trial
// carries its charge, and they add up past the budget, which the wall clock never
// reaches.
func TestSearchSimulateTime(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	db := filepath.Join(t.TempDir(), "s.db")
	exp := writeExp(t, fmt.Sprintf("name: sim\nseed: 3\nspace: nb201\nstrategy: regevo\nevaluator: {name: table, path: %s}\nbudget: {time: 3000s}\n", table))
	out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress", "--simulate-time")
	if err != nil || !strings.Contains(out, "(simulated)") {
		t.Fatalf("%v\n%s", err, out)
	}
	d, err := storage.OpenReadOnly(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := d.Experiment(1)
	trials, _ := x.Trials()
	sum, last := 0.0, 0.0
	for _, tr := range trials {
		last = tr.Metrics["simulated_seconds"]
		if last <= 0 {
			t.Fatalf("trial %d charged %v", tr.ID, last)
		}
		sum += last
	}
	if sum < 3000 || sum-last >= 3000 {
		t.Errorf("%d trials charged %.0f s in all (the last %.0f); the budget of 3000 s should end at the trial that crosses it", len(trials), sum, last)
	}
	d.Close()
	// A search keeps its clock: one stopped on the wall clock cannot resume simulated.
	src := fmt.Sprintf("name: wall\nseed: 3\nspace: nb201\nstrategy: random\nevaluator: {name: table, path: %s}\nbudget: {trials: 5}\n", table)
	w, err := storage.Open(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x2, _ := w.CreateExperiment("wall", []byte(src))
	st, _ := json.Marshal(map[string]any{})
	if err := x2.Commit(nil, engine.Checkpoint{Strategy: st, NextID: 1, Elapsed: time.Second}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := cellar(t, "search", "--db", db, "--resume", "2", "--simulate-time", "--no-progress"); err == nil || !strings.Contains(err.Error(), "ran on the wall clock") {
		t.Errorf("resuming a wall-clock search simulated: %v", err)
	}
}

// The bench compares a strategy alone and through a cascade at equal table queries,
// and strategies at equal simulated time, with the CSV saying which.
func TestBenchCascadeAndSimulatedTime(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	out, err := cellar(t, "bench", "--table", table, "--strategies", "regevo", "--runs", "3", "--budget", "20", "--cascade", "[{name: flops}]", "--eta", "2")
	if err != nil || !strings.Contains(out, "regevo, cascade flops → table (eta 2)") || !strings.Contains(out, "120 queries") {
		t.Fatalf("cascade bench: %v\n%s", err, out)
	}
	csvPath := filepath.Join(t.TempDir(), "sim.csv")
	out, err = cellar(t, "bench", "--table", table, "--strategies", "random", "--runs", "3", "--simulate-time", "--time-budget", "2000s", "--csv", csvPath)
	if err != nil || !strings.Contains(out, "3 x FLOPs") || !strings.Contains(out, "2000") {
		t.Fatalf("simulated bench: %v\n%s", err, out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][1] != "simulated_seconds" || rows[4][1] != "2000" {
		t.Errorf("csv %v: %v", rows, err)
	}
	if _, err := cellar(t, "bench", "--table", table, "--strategies", "regevo", "--runs", "2", "--cascade", "[{name: sorcery}]"); err == nil || !strings.Contains(err.Error(), `unknown evaluator "sorcery"`) {
		t.Errorf("bad cascade: %v", err)
	}
}
