package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/internal/testkit"
)

// The worked example, examples/pytorch/train.py, as the command evaluator: a regevo
// search trains its trials with PyTorch on the exported model and stores them with
// their curves; ASHA ends running trainings; and a trial's accuracy is what the script
// gives for the same trial run alone.
func TestPyTorchTrainerExample(t *testing.T) {
	testkit.Long(t, "trains networks in PyTorch") // before the import of torch, which alone takes seconds
	py := testkit.Python(t, "torch")
	dir := t.TempDir()
	data := filepath.Join(dir, "mnist")
	if _, err := cellar(t, "data", "export", "mnist", data); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "examples", "pytorch", "train.py"))
	if err != nil {
		t.Fatal(err)
	}
	// sh records the trainer's pid (exec keeps it), to see that ended trainings end.
	run := fmt.Sprintf(`[sh, -c, 'echo $$ > "$CELLAR_TRIAL_DIR/pid"; exec %s %s --data %s --train 1000 --val 500']`, py, script, data)
	search := func(name, extra string, trials int) (string, []engine.Trial) {
		t.Helper()
		db := filepath.Join(dir, name+".db")
		exp := writeExp(t, fmt.Sprintf("name: %s\nseed: 3\nspace: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28]}\n"+
			"strategy: {name: regevo, population: 3, sample: 2}\nevaluator: {name: command, run: %s, env: {OMP_NUM_THREADS: '1'}%s}\n"+
			"budget: {trials: %d}\n", name, run, extra, trials))
		if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
			t.Fatalf("search: %v\n%s", err, out)
		}
		return db, storedTrials(t, db)
	}

	db, trials := search("plain", ", epochs: 1", 3)
	for _, tr := range trials {
		if tr.State != engine.Done || len(tr.Curve) != 1 || tr.Metrics["val_accuracy"] <= 0 || tr.Metrics["train_seconds"] <= 0 {
			t.Errorf("trial %d: %s %s %v, curve %d, log %q", tr.ID, tr.State, tr.Error, tr.Metrics, len(tr.Curve), tr.Log)
		}
	}
	// Trial 2 run alone, from its directory beside the DB, gives the same accuracy.
	trialDir := filepath.Join(strings.TrimSuffix(db, ".db")+".files", "1", "trial-2")
	cmd := exec.Command(py, script, "--data", data, "--train", "1000", "--val", "500", "--epochs", "1", "--trial-dir", trialDir)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the trainer alone: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var final struct{ Metrics map[string]float64 }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &final); err != nil {
		t.Fatal(err)
	}
	if got, want := final.Metrics["val_accuracy"], trials[1].Metrics["val_accuracy"]; got != want {
		t.Errorf("trial 2 alone: val_accuracy %v; in the search %v", got, want)
	}

	// ASHA (rungs at epochs 1 and 2 of 3) stops some trainings while they run.
	db, trials = search("asha", ", epochs: 3, early_stop: {rule: asha, grace: 1, eta: 2}", 5)
	stopped := 0
	for _, tr := range trials {
		if tr.State != engine.Done {
			t.Errorf("trial %d: %s %s", tr.ID, tr.State, tr.Error)
			continue
		}
		if tr.Stop == nil {
			if len(tr.Curve) != 3 {
				t.Errorf("trial %d trained to the end in %d epochs", tr.ID, len(tr.Curve))
			}
			continue
		}
		stopped++
		b, _ := os.ReadFile(filepath.Join(strings.TrimSuffix(db, ".db")+".files", "1", fmt.Sprintf("trial-%d", tr.ID), "pid"))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); pid == 0 || (err == nil && !strings.Contains(string(st), ") Z ")) {
			t.Errorf("stopped trial %d: its trainer (pid %d) still runs", tr.ID, pid)
		}
		if len(tr.Curve) != int(tr.Stop.Epoch) || tr.Stop.Rule != "asha" {
			t.Errorf("stopped trial %d: %d epochs reported, stop %+v", tr.ID, len(tr.Curve), tr.Stop)
		}
	}
	if stopped == 0 {
		t.Error("ASHA stopped no training")
	}
}
