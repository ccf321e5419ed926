package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"cellar/datasets"
	"cellar/engine"
	"cellar/internal/testtable"
	"cellar/storage"
)

func TestKilledSearchLosesNoTrialAndResumes(t *testing.T) {
	t.Parallel() // waits on child processes and delays more than it computes
	table := testtable.NB201(t, testtable.Smooth)
	const budget = 120
	exp := writeExp(t, fmt.Sprintf(`
name: crash
seed: 4
space: {name: nb201}
strategy: {name: regevo, population: 20, sample: 5}
evaluator: {name: slowtable, path: %s, delay: 15ms}
budget: {trials: %d}
parallelism: 3
`, table, budget))
	db := filepath.Join(t.TempDir(), "crash.db")

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
	// Read the trials the child reports done; kill it with SIGKILL after 30.
	reported := map[uint64]engine.Trial{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var tr engine.Trial
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatalf("child printed %q: %v", sc.Text(), err)
		}
		reported[tr.ID] = tr
		if len(reported) == 30 {
			if err := child.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	child.Wait()
	if len(reported) < 30 {
		t.Fatalf("child reported only %d trials before it ended", len(reported))
	}

	d, err := storage.Open(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Check(); err != nil {
		t.Fatalf("DB inconsistent after SIGKILL: %v", err)
	}
	x, err := d.Experiment(1)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := x.Trials()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uint64]engine.Trial{}
	for _, tr := range stored {
		byID[tr.ID] = tr
	}
	for id, tr := range reported {
		s, ok := byID[id]
		if !ok || s.Arch != tr.Arch || !s.Final() {
			t.Errorf("trial %d was reported done but is stored as %+v", id, s)
		}
	}
	if len(stored) >= budget {
		t.Fatalf("the child finished all %d trials before the kill; nothing to resume", len(stored))
	}
	d.Close()

	// Resume in this process to the full budget.
	if out, err := cellar(t, "search", "--db", db, "--resume", "1", "--no-progress"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	d, err = storage.OpenReadOnly(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, _ = d.Experiment(1)
	resumed, err := x.Trials()
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if evaluated(resumed) != budget {
		t.Fatalf("%d trials evaluated after resume, want %d", evaluated(resumed), budget)
	}
	for i, tr := range resumed {
		if tr.ID != uint64(i+1) || !tr.Final() {
			t.Fatalf("trial at %d: id %d state %s; want ids 1..%d, all final", i, tr.ID, tr.State, budget)
		}
	}
	// The interrupted and resumed search is the search that was never interrupted.
	ref := filepath.Join(t.TempDir(), "ref.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", ref, "--no-progress"); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	rd, err := storage.OpenReadOnly(ref, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rx, _ := rd.Experiment(1)
	want, _ := rx.Trials()
	for i := range want {
		if want[i].Arch != resumed[i].Arch || want[i].Parent != resumed[i].Parent {
			t.Fatalf("trial %d: resumed %s (parent %d), uninterrupted %s (parent %d)", i+1, resumed[i].Arch, resumed[i].Parent, want[i].Arch, want[i].Parent)
		}
	}
	// Resuming a finished experiment does nothing.
	if out, err := cellar(t, "search", "--db", db, "--resume", "1", "--no-progress"); err != nil || !strings.Contains(out, "already finished") {
		t.Errorf("resume of a finished experiment: %v\n%s", err, out)
	}
}

func TestSearchTrialsShow(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	exp := writeExp(t, fmt.Sprintf(`
name: cli
seed: 2
space: {name: nb201}
strategy: {name: local}
evaluator: {name: table, path: %s}
budget: {trials: 40}
`, table))
	db := filepath.Join(t.TempDir(), "c.db")
	out, err := cellar(t, "search", "-c", exp, "--db", db)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "experiment 1 (cli): finished after 40 trials") || !strings.Contains(out, "best: trial") {
		t.Errorf("summary:\n%s", out)
	}
	out, err = cellar(t, "trials", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var listing struct {
		Experiment uint64         `json:"experiment"`
		Trials     []engine.Trial `json:"trials"`
	}
	if err := json.Unmarshal([]byte(out), &listing); err != nil {
		t.Fatalf("trials --json: %v\n%s", err, out)
	}
	if listing.Experiment != 1 || evaluated(listing.Trials) != 40 || listing.Trials[0].Metrics["test_accuracy"] == 0 {
		t.Fatalf("trials --json: experiment %d, %d trials evaluated", listing.Experiment, evaluated(listing.Trials))
	}
	out, _ = cellar(t, "trials", "--db", db, "--exp", "1")
	if lines := strings.Count(out, "\n"); lines != len(listing.Trials)+1 || !strings.HasPrefix(out, "ID") {
		t.Errorf("trials table has %d lines:\n%s", lines, out)
	}
	// A local-search trial has a parent; show prints the lineage.
	var child engine.Trial
	for _, tr := range listing.Trials {
		if tr.Parent != 0 {
			child = tr
		}
	}
	out, err = cellar(t, "show", "--db", db, fmt.Sprint(child.ID))
	if err != nil || !strings.Contains(out, child.Arch) || !strings.Contains(out, fmt.Sprintf("lineage:  %d", child.Parent)) {
		t.Errorf("show %d: %v\n%s", child.ID, err, out)
	}
	for _, tc := range []struct {
		args []string
		say  string
	}{
		{[]string{"show", "--db", db, "999"}, "no trial 999"},
		{[]string{"show", "--db", db, "x"}, `trial "x"`},
		{[]string{"trials", "--db", db, "--exp", "7"}, "no experiment 7"},
		{[]string{"trials", "--db", filepath.Join(t.TempDir(), "none.db")}, "no such file"},
		{[]string{"search", "--db", db}, "-c exp.yaml"},
		{[]string{"search", "-c", filepath.Join(t.TempDir(), "none.yaml"), "--db", db}, "no such file"},
		{[]string{"search", "-c", writeExp(t, "name: x\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 1}\nseeds: 3\n"), "--db", db}, "line 6: seeds: unknown key; did you mean seed?"},
		{[]string{"search", "--db", db, "--resume", "5"}, "no experiment 5"},
		{[]string{"search", "--db", db, "--resume", "1", "-c", writeExp(t, "name: other\n")}, "differs from the config stored"},
	} {
		out, err := cellar(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%v: %v (%s); want an error saying %q", tc.args, err, out, tc.say)
		}
	}
	// A bad config creates no experiment.
	d, err := storage.OpenReadOnly(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	infos, _ := d.Experiments()
	d.Close()
	if len(infos) != 1 {
		t.Errorf("%d experiments after failed searches, want 1", len(infos))
	}
}

func TestDefaultExperimentRuns(t *testing.T) {
	// The test binary records no module versions: find MNIST from inside the module,
	// before leaving it for an empty working directory.
	mnist, err := datasets.MNISTDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CELLAR_MNIST", mnist)
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	out, err := cellar(t, "--trials", "1")
	if err != nil || !strings.Contains(out, "finished after 1 trials (1 done") || !strings.Contains(out, "val_accuracy=") {
		t.Fatalf("cellar with no arguments: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "cellar.db")); err != nil {
		t.Errorf("no cellar.db in the working directory: %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	best := engine.Trial{ID: 4, Metrics: map[string]float64{"val_accuracy": 97.5}}
	s := engine.Status{Best: &best, Done: 3, Failed: 1, Elapsed: 40 * time.Second, Progress: map[uint64]engine.Progress{
		9: {Epoch: 0.5, Metrics: map[string]float64{"loss": 0.25}},
		7: {Epoch: 1.25},
	}}
	want := "best val_accuracy 97.5 (trial 4), ETA 1m0s | #7 epoch 1.25 | #9 epoch 0.50 loss 0.250"
	if got := progressLine(s, "val_accuracy", 10); got != want {
		t.Errorf("progress line\n got %q\nwant %q", got, want)
	}
	if got := progressLine(engine.Status{Full: 7, Budget: engine.Budget{Final: 30}}, "x", 0); got != "searching | 7/30 at full fidelity" {
		t.Errorf("a final budget: %q", got)
	}
	if got := progressLine(engine.Status{}, "x", 10); got != "searching" {
		t.Errorf("empty status: %q", got)
	}
}

// A DARTS search killed with SIGKILL after its first epoch resumes from that epoch
// (it is not trained again) and ends with the trials of an uninterrupted search.
func TestKilledDartsResumesFromItsEpoch(t *testing.T) {
	exp := writeExp(t, `
name: darts-crash
seed: 4
space: {name: nb201}
strategy: {name: darts, channels: 2, train: 192, val: 64, epochs: 3, candidates: 2}
evaluator: params
budget: {trials: 5}
`)
	db := filepath.Join(t.TempDir(), "darts.db")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join([]string{"search", "-c", exp, "--db", db, "--no-progress"}, "\x1f"))
	stderr, err := child.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "darts epoch 1/3:") {
			child.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	child.Wait()
	if !killed {
		t.Fatal("the child never reported its first epoch")
	}
	out, err := cellar(t, "search", "--db", db, "--resume", "1", "--no-progress")
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if strings.Contains(out, "darts epoch 1/3") || !strings.Contains(out, "darts epoch 3/3") {
		t.Errorf("the resumed search did not go on from epoch 2:\n%s", out)
	}
	ref := filepath.Join(t.TempDir(), "ref.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", ref, "--no-progress"); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	var archs [2][]string
	for i, path := range []string{db, ref} {
		d, err := storage.OpenReadOnly(path, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := d.Experiment(1)
		trials, _ := x.Trials()
		d.Close()
		for _, tr := range trials {
			archs[i] = append(archs[i], tr.Arch)
		}
	}
	if len(archs[1]) != 2 || !slices.Equal(archs[0], archs[1]) {
		t.Errorf("resumed trials %v, uninterrupted %v", archs[0], archs[1])
	}
}

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
		if tr.Duplicate != 0 {
			if last != 0 {
				t.Fatalf("trial %d, a duplicate of %d, charged %v; it was not evaluated", tr.ID, tr.Duplicate, last)
			}
			continue
		}
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

// An experiment's relative paths mean its file's folder, wherever cellar runs from,
// and it is stored with them resolved, so a resume works from anywhere.
func TestRelativePathsFromTheExperimentsFolder(t *testing.T) {
	dir := t.TempDir()
	table, err := os.ReadFile(testtable.NB201(t, testtable.Smooth))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "t.csv"), table, 0o600)
	exp := filepath.Join(dir, "exp.yaml")
	os.WriteFile(exp, []byte("name: rel\nseed: 1\nspace: nb201\nstrategy: random\nevaluator: {name: table, path: t.csv}\nbudget: {trials: 4}\n"), 0o600)
	db := filepath.Join(dir, "r.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("a search run from another folder: %v\n%s", err, out)
	}
	d, x, err := openExperiment(db, "")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := x.Source()
	d.Close()
	if !strings.Contains(string(src), "path: "+filepath.Join(dir, "t.csv")) {
		t.Errorf("stored config:\n%s", src)
	}
	// A fork builds the experiment again from the stored config, here from another
	// folder than the experiment's.
	if out, err := cellar(t, "fork", "--db", db, "--exp", "1", "--at", "1", "--no-progress"); err != nil {
		t.Fatalf("fork: %v\n%s", err, out)
	}
}

// A search ended by a --trials below its budget is finished; a resume says how to go
// on, and a resume with a higher --trials goes on.
func TestResumeRaisesTheBudget(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	exp := tableExp(t, "table", 6, 1, "")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress", "--trials", "2"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := cellar(t, "search", "--resume", "1", "--db", db, "--no-progress")
	if err != nil || !strings.Contains(out, "finished after 2 trials; to go on, raise its budget (cellar search --db "+db+" --resume 1 --trials N") {
		t.Errorf("a finished experiment's resume: %v\n%s", err, out)
	}
	if out, err := cellar(t, "search", "--resume", "1", "--db", db, "--no-progress", "--trials", "5"); err != nil {
		t.Fatalf("resume with --trials 5: %v\n%s", err, out)
	}
	trials := storedTrials(t, db)
	if len(trials) != 5 || trials[4].ID != 5 {
		t.Errorf("%d trials after raising the budget to 5", len(trials))
	}
}

// The built-in NB201 table needs no file: an experiment names it with path: nb201,
// stored as a name (not made a path of the experiment's folder), and bench reads it.
func TestBuiltinTableNeedsNoFile(t *testing.T) {
	t.Chdir(t.TempDir()) // no nb201 file anywhere near
	exp := writeExp(t, "name: builtin\nseed: 1\nspace: nb201\nstrategy: regevo\nevaluator: {name: table, path: nb201}\nbudget: {trials: 30}\n")
	db := filepath.Join(t.TempDir(), "b.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("search on the built-in table: %v\n%s", err, out)
	}
	d, x, err := openExperiment(db, "")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := x.Source()
	trials, err := x.Trials()
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "path: nb201}") {
		t.Errorf("stored config:\n%s", src)
	}
	if len(trials) != 30 {
		t.Fatalf("%d trials, want 30", len(trials))
	}
	for _, tr := range trials {
		if acc := tr.Metrics["test_accuracy"]; acc < 10 || acc > 94.3733 {
			t.Fatalf("trial %d: test_accuracy %v, not an NB201 CIFAR-10 figure (%v)", tr.ID, acc, tr.Error)
		}
	}
	out, err := cellar(t, "bench", "--table", "nb201", "--strategies", "random", "--runs", "2", "--budget", "10")
	if err != nil || !strings.Contains(out, "15625 archs; optimum 94.3733") {
		t.Fatalf("bench --table nb201: %v\n%s", err, out)
	}
}

// A trainer that cannot start (a typo in its script's name) fails every trial alike: a
// new experiment stops after DefaultFailFast of them with none done, says the
// commonest reason with what the trainer printed, and the command fails. An old
// experiment (defaults 0) ran its whole budget, as it still replays.
func TestSearchOfFailingTrialsStopsAndSaysWhy(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("no /usr/bin/python3 to run a missing script with")
	}
	src := "name: typo\nseed: 1\nspace: {name: nb201, channels: 4, cells: 1}\nstrategy: random\n" +
		"evaluator: {name: command, run: [" + python + ", bgu.py], metrics: [val_accuracy]}\nbudget: {trials: 50}\n"
	db := filepath.Join(t.TempDir(), "f.db")
	out, err := cellar(t, "search", "-c", writeExp(t, src), "--db", db, "--no-progress")
	var ec exitCode
	if !errors.As(err, &ec) || ec.code != exitFailed || !strings.Contains(err.Error(), fmt.Sprintf("the first %d trials all failed", engine.DefaultFailFast)) ||
		!strings.Contains(err.Error(), "--resume 1") || strings.Contains(err.Error(), "bgu.py") {
		t.Fatalf("a search whose trials all fail: %v (the error says what to do, the summary why)\n%s", err, out)
	}
	if !strings.Contains(out, "commonest failure: 5 of 5 failed trials, as trial 1:") || !strings.Contains(out, "bgu.py") {
		t.Errorf("the summary does not say why:\n%s", out)
	}
	if n := len(storedTrials(t, db)); n != engine.DefaultFailFast {
		t.Errorf("%d trials stored, want %d", n, engine.DefaultFailFast)
	}
	// An experiment made before (defaults 0) keeps running its budget, as it ran.
	old := filepath.Join(t.TempDir(), "old.db")
	out, err = cellar(t, "search", "-c", writeExp(t, strings.Replace(src, "trials: 50", "trials: 7", 1)+"defaults: 0\n"), "--db", old, "--no-progress")
	if err != nil || len(storedTrials(t, old)) != 7 || !strings.Contains(out, "commonest failure: 7 of 7") {
		t.Errorf("defaults 0: %v, %d trials\n%s", err, len(storedTrials(t, old)), out)
	}
}

// A space whose networks cannot take the data (other channels, other classes) is
// refused when the experiment is built, naming the value to set, and nothing is
// written.
func TestASpaceThatDoesNotFitTheDataIsRefused(t *testing.T) {
	for space, want := range map[string]string{
		"{name: nb201, channels: 8, cells: 1}":                                   "take 3x32x32 inputs but mnist images are 1x28x28: set the space's input to [1, 28, 28]",
		"{name: nb201, channels: 8, cells: 1, input: [1, 28, 28], classes: 100}": "have 100 outputs but mnist has 10 classes: set the space's classes to 10",
		"{name: nb201, channels: 8, cells: 1, input: [1, 16, 16], classes: 10}":  "",
	} {
		src := "name: misfit\nseed: 1\nspace: " + space + "\nstrategy: random\n" +
			"evaluator: {name: train, dataset: mnist, subset: 200, val: 100, test_size: 100, epochs: 1}\nbudget: {trials: 1}\n"
		db := filepath.Join(t.TempDir(), "m.db")
		out, err := cellar(t, "search", "-c", writeExp(t, src), "--db", db, "--no-progress")
		if want == "" { // another height and width is resampled: it runs
			if err != nil || !strings.Contains(out, "1 done") {
				t.Errorf("%s: %v\n%s", space, err, out)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q\n%s", space, err, want, out)
		}
		if _, serr := os.Stat(db); serr == nil {
			t.Errorf("%s: the refused experiment wrote %s", space, db)
		}
	}
}

// A search's data-free scores (the predictor's warm start here, on a space without
// built-in scores) are kept in its file, for the next search to read.
func TestZeroCostScoresKeptInTheDB(t *testing.T) {
	src := "name: zc\nseed: 1\nspace: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28]}\n" +
		"strategy: {name: predictor, warm_pool: 12, initial: 3, candidates: 4, k: 2, epochs: 5, ensemble: 1}\nevaluator: params\nbudget: {trials: 4}\n"
	db := filepath.Join(t.TempDir(), "zc.db")
	if out, err := cellar(t, "search", "-c", writeExp(t, src), "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	d, err := storage.OpenReadOnly(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The pool's 12 archs under each of the two proxies, at least (and the rounds' fresh draws).
	if n := d.ScoreCache().Count(); n < 24 {
		t.Errorf("%d scores kept in the file; the warm pool alone scored 24", n)
	}
}
