package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cellar/engine"
	"cellar/internal/testtable"
)

// The read commands (trials, show, audit) work while a search holds the DB: they
// read a snapshot of its last commit and say so on stderr, keeping stdout clean.
func TestReadCommandsWhileASearchHoldsTheDB(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	exp := writeExp(t, fmt.Sprintf("name: held\nseed: 4\nspace: nb201\nstrategy: regevo\nevaluator: {name: slowtable, path: %s, delay: 20ms}\nbudget: {trials: 100000}\n", table))
	db := filepath.Join(t.TempDir(), "held.db")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join([]string{"search", "-c", exp, "--db", db, "--events", "--no-progress"}, "\x1f"))
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		child.Process.Signal(syscall.SIGKILL)
		child.Wait()
	}()
	sc := bufio.NewScanner(stdout)
	for n := 0; n < 10 && sc.Scan(); n++ {
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		root := newRoot(testEvaluators())
		root.SetArgs(args)
		root.SetOut(&out)
		root.SetErr(&errOut)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v while the search runs: %v\n%s", args, err, errOut.String())
		}
		if !strings.Contains(errOut.String(), "a search is writing "+db) {
			t.Errorf("%v does not say it read a snapshot: %q", args, errOut.String())
		}
		return out.String(), errOut.String()
	}
	out, _ := run("trials", "--db", db, "--json")
	var listing struct {
		Trials []engine.Trial `json:"trials"`
	}
	if err := json.Unmarshal([]byte(out), &listing); err != nil {
		t.Fatalf("trials --json: %v\n%s", err, out)
	}
	if len(listing.Trials) < 10 {
		t.Errorf("the snapshot holds %d trials; the search had reported 10", len(listing.Trials))
	}
	if out, _ := run("show", "--db", db); !strings.Contains(out, "its best") {
		t.Errorf("show:\n%s", out)
	}
	run("audit", "--db", db)
	// The search is still running, unharmed.
	if !sc.Scan() {
		t.Error("the search stopped after the reads")
	}
}

// trials --rungs writes JSON (which has no NaN) and a table even when the mean of a
// rung's rank and params' is all ties: the rung ranks the trials as params does
// backwards, so the two cancel out and that tau is 0/0.
func TestRungsWithParamsCancelling(t *testing.T) {
	var trials []engine.Trial
	for i := 1; i <= 5; i++ {
		x, y := float64(i), float64(i*i)
		trials = append(trials, engine.Trial{ID: uint64(i), Rungs: []engine.RungResult{
			{Rung: 0, Evaluator: "oneshot", Score: &x, Promoted: true, Metrics: map[string]float64{"params": float64(-i)}},
			{Rung: 1, Evaluator: "train", Score: &y}}})
	}
	var js, text strings.Builder
	if err := printRungs(&js, 1, trials, true); err != nil || !strings.Contains(js.String(), `"kendall_next": 1`) || strings.Contains(js.String(), "with_params_kendall_next") {
		t.Errorf("JSON: %v\n%s", err, js.String())
	}
	if err := printRungs(&text, 1, trials, false); err != nil || strings.Contains(text.String(), "NaN") || !strings.Contains(text.String(), "WITH PARAMS") {
		t.Errorf("table: %v\n%s", err, text.String())
	}
	if strings.Contains(js.String(), "live_params_kendall_next") {
		t.Errorf("JSON: live params' tau without live params:\n%s", js.String())
	}
	// Live params (the oneshot evaluator's) that rank as the next rung does: their
	// tau in both, marked in the table as ranking better than the rung.
	for i := range trials {
		trials[i].Rungs[0].Metrics["live_params"] = float64(i)
		*trials[i].Rungs[0].Score = float64([]int{2, 1, 3, 5, 4}[i])
	}
	js.Reset()
	text.Reset()
	if err := printRungs(&js, 1, trials, true); err != nil || !strings.Contains(js.String(), `"live_params_kendall_next": 1`) {
		t.Errorf("JSON with live params: %v\n%s", err, js.String())
	}
	if err := printRungs(&text, 1, trials, false); err != nil || !strings.Contains(text.String(), "LIVE PARAMS VS NEXT") || !strings.Contains(text.String(), "1.000 (ranks better than the rung)") {
		t.Errorf("table with live params: %v\n%s", err, text.String())
	}
}
