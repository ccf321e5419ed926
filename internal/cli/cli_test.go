package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cellar/datasets"
	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/testtable"
	"cellar/spaces"
	"cellar/storage"
)

// slowTable is the table evaluator with a delay, so a search lasts long enough to be
// killed in the middle.
type slowTable struct {
	*evaluators.Table
	delay time.Duration
}

func (s slowTable) Evaluate(ctx context.Context, job engine.Job, p func(engine.Progress)) (engine.Outcome, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return engine.Outcome{}, ctx.Err()
	}
	return s.Table.Evaluate(ctx, job, p)
}

// testEvaluators are the built-in evaluators and the slow table.
func testEvaluators() map[string]engine.EvaluatorFactory {
	evals := evaluators.Builtin()
	for k, v := range map[string]engine.EvaluatorFactory{
		"slowtable": func(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
			var opt struct {
				Path  string        `yaml:"path"`
				Delay time.Duration `yaml:"delay"`
			}
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			t, err := evaluators.LoadTable(opt.Path, env.Space, "")
			if err != nil {
				return nil, err
			}
			return slowTable{t, opt.Delay}, nil
		},
	} {
		evals[k] = v
	}
	return evals
}

// TestMain turns the test binary into a cellar child process when asked, so the crash
// test can kill a real search process.
func TestMain(m *testing.M) {
	if args := os.Getenv("CELLAR_TEST_CHILD"); args != "" {
		os.Exit(execute(strings.Split(args, "\x1f"), os.Stderr, testEvaluators()))
	}
	os.Exit(m.Run())
}

// cellar runs the CLI in this process and returns its stdout.
func cellar(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(testEvaluators())
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

func writeExp(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "exp.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKilledSearchLosesNoTrialAndResumes(t *testing.T) {
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
	if len(resumed) != budget {
		t.Fatalf("%d trials after resume, want %d", len(resumed), budget)
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
	if listing.Experiment != 1 || len(listing.Trials) != 40 || listing.Trials[0].Metrics["test_accuracy"] == 0 {
		t.Fatalf("trials --json: experiment %d, %d trials", listing.Experiment, len(listing.Trials))
	}
	out, _ = cellar(t, "trials", "--db", db, "--exp", "1")
	if lines := strings.Count(out, "\n"); lines != 41 || !strings.HasPrefix(out, "ID") {
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
	out, err := cellar(t, "--trials", "2")
	if err != nil || !strings.Contains(out, "finished after 2 trials (2 done") || !strings.Contains(out, "val_accuracy=") {
		t.Fatalf("cellar with no arguments: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "cellar.db")); err != nil {
		t.Errorf("no cellar.db in the working directory: %v", err)
	}
}

func TestBenchCSV(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	csvPath := filepath.Join(t.TempDir(), "bench.csv")
	out, err := cellar(t, "bench", "--table", table, "--strategies", "random,regevo", "--runs", "6", "--budget", "60", "--csv", csvPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The table's best cell: every edge a 3x3 convolution.
	optimum := fmt.Sprintf("optimum %.4f", testtable.Smooth(spaces.NB201Arch{3, 3, 3, 3, 3, 3}))
	if !strings.Contains(out, optimum) || !strings.Contains(out, "regevo") {
		t.Errorf("bench output:\n%s", out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Header, then random and regevo at 10, 20, 50 and 60 queries.
	if len(rows) != 9 || strings.Join(rows[0], ",") != "strategy,queries,metric,mean,std,runs" || rows[4][1] != "60" || rows[8][0] != "regevo" {
		t.Fatalf("csv rows: %v", rows)
	}
	// Best-so-far never decreases with more queries.
	for i := 2; i < len(rows); i++ {
		if rows[i][0] == rows[i-1][0] && rows[i][3] < rows[i-1][3] {
			t.Errorf("mean best fell from %s to %s", rows[i-1][3], rows[i][3])
		}
	}
	if _, err := cellar(t, "bench", "--table", table, "--strategies", "random,annealing"); err == nil || !strings.Contains(err.Error(), `unknown strategy "annealing"`) {
		t.Errorf("unknown strategy: %v", err)
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

// --strategies as a YAML list: options reach the strategy and label its row; a bad
// option is refused.
func TestBenchStrategiesWithOptions(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	out, err := cellar(t, "bench", "--table", table, "--strategies", "[regevo, {name: regevo, warm_start: {proxy: params, sample: 100}}]", "--runs", "3", "--budget", "20")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "regevo{warm_start: {proxy: params, sample: 100}}") {
		t.Errorf("no labelled row:\n%s", out)
	}
	if _, err := cellar(t, "bench", "--table", table, "--strategies", "[{name: regevo, warm_start: {proxy: snip}}]"); err == nil || !strings.Contains(err.Error(), "needs data") {
		t.Errorf("a data proxy for the warm start: %v", err)
	}
}

// cellar bench proxies on a handful of archs: a row per proxy with finite
// correlations, and the CSV of scores.
func TestBenchProxies(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	csvPath := filepath.Join(t.TempDir(), "proxies.csv")
	out, err := cellar(t, "bench", "proxies", "--table", table, "--n", "6", "--proxies", "synflow,params,naswot", "--data", "noise", "--batch", "4", "--channels", "4", "--cells", "1", "--csv", csvPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"data: standard-normal noise, batch 4", "synflow", "params", "naswot", "spearman"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); len(lines) != 7 || lines[0] != "arch,test_accuracy,synflow,params,naswot" {
		t.Errorf("csv:\n%s", raw)
	}
	if _, err := cellar(t, "bench", "proxies", "--table", table, "--proxies", "synflow,zen"); err == nil || !strings.Contains(err.Error(), `unknown proxy "zen"`) {
		t.Errorf("unknown proxy: %v", err)
	}
}

// A DARTS search killed with SIGKILL after its first epoch resumes from that epoch
// (it is not trained again) and ends with the trials of an uninterrupted search.
func TestKilledDartsResumesFromItsEpoch(t *testing.T) {
	exp := writeExp(t, `
name: darts-crash
seed: 4
space: {name: nb201}
strategy: {name: darts, channels: 2, train: 640, val: 256, epochs: 3, candidates: 2}
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

// A multi-objective bench compares normalised hypervolumes, which grow with queries
// and stay within [0, 1]; a multi-objective search keeps its front for trials --front.
func TestParetoBenchAndFront(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	csvPath := filepath.Join(t.TempDir(), "mo.csv")
	out, err := cellar(t, "bench", "--table", table, "--strategies", "[random, {name: nsga2, population: 10}]", "--runs", "3", "--budget", "60",
		"--objectives", "test_accuracy:max,params:min,flops:min", "--csv", csvPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "hypervolume of the Pareto front") || !strings.Contains(out, "nsga2{population: 10}") {
		t.Errorf("bench output:\n%s", out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(f).ReadAll()
	f.Close()
	for i := 1; i < len(rows); i++ {
		v, _ := strconv.ParseFloat(rows[i][3], 64)
		if v <= 0 || v > 1 {
			t.Errorf("row %v: hypervolume out of (0, 1]", rows[i])
		}
		if prev, _ := strconv.ParseFloat(rows[i-1][3], 64); i > 1 && rows[i][0] == rows[i-1][0] && v < prev {
			t.Errorf("hypervolume fell: %v after %v", rows[i], rows[i-1])
		}
	}
	if _, err := cellar(t, "bench", "--table", table, "--objectives", "test_accuracy:up"); err == nil || !strings.Contains(err.Error(), "name:max or name:min") {
		t.Errorf("bad --objectives: %v", err)
	}
	// Latency as an objective needs the machine's table, from --db.
	lat := []string{"bench", "--table", table, "--strategies", "random", "--runs", "2", "--budget", "20", "--objectives", "test_accuracy:max,latency:min"}
	if _, err := cellar(t, lat...); err == nil || !strings.Contains(err.Error(), "--db F") {
		t.Errorf("latency objective without --db: %v", err)
	}
	db := filepath.Join(t.TempDir(), "lat.db")
	if out, err := cellar(t, "latency", "build", "--db", db, "--spaces", "nb201", "--n", "3", "--reps", "1"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := cellar(t, append(lat, "--db", db)...); err != nil || !strings.Contains(out, "test_accuracy:max,latency:min") {
		t.Errorf("latency objective: %v\n%s", err, out)
	}

	exp := writeExp(t, fmt.Sprintf(`
name: mo
seed: 2
space: nb201
strategy: {name: nsga2, population: 8}
evaluator: {name: table, path: %s}
objectives: [{name: test_accuracy, direction: max}, {name: flops, direction: min}]
budget: {trials: 40}
`, table))
	db = filepath.Join(t.TempDir(), "mo.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	all, err := cellar(t, "trials", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	front, err := cellar(t, "trials", "--db", db, "--json", "--front")
	if err != nil {
		t.Fatal(err)
	}
	var a, b struct{ Trials []engine.Trial }
	json.Unmarshal([]byte(all), &a)
	json.Unmarshal([]byte(front), &b)
	if len(a.Trials) != 40 || len(b.Trials) == 0 || len(b.Trials) >= 40 {
		t.Fatalf("%d trials, %d on the front", len(a.Trials), len(b.Trials))
	}
	for _, f := range b.Trials {
		for _, o := range a.Trials {
			if o.Metrics["test_accuracy"] >= f.Metrics["test_accuracy"] && o.Metrics["flops"] <= f.Metrics["flops"] &&
				(o.Metrics["test_accuracy"] > f.Metrics["test_accuracy"] || o.Metrics["flops"] < f.Metrics["flops"]) {
				t.Errorf("front trial %d is dominated by %d", f.ID, o.ID)
			}
		}
	}
}

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

// A compound scaling search stores its trials; trials --scaling shows them as the
// table of coefficients, multipliers, FLOPs and results, in text and JSON.
func TestCompoundScalingTable(t *testing.T) {
	exp := writeExp(t, `
name: scale
seed: 1
space: nb201
strategy: {name: compound, base: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", target_flops: 8e8, grid: [1, 1.1, 1.2, 1.3, 1.4]}
evaluator: params
objectives: [{name: params, direction: min}]
budget: {trials: 100}
`)
	db := filepath.Join(t.TempDir(), "scale.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := cellar(t, "trials", "--db", db, "--scaling")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ROLE", "ALPHA", "PHI", "base", "grid", "compound", "depth", "width", "resolution", "3x32x32"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	js, err := cellar(t, "trials", "--db", db, "--scaling", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Scaling []engine.ScalingRow }
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatal(err)
	}
	n := len(got.Scaling)
	if n < 6 || got.Scaling[0].Role != "base" || got.Scaling[n-4].Role != "compound" {
		t.Fatalf("%d rows: %+v", n, got.Scaling)
	}
	for _, r := range got.Scaling[n-4:] {
		if r.FLOPs > 8e8 || r.FLOPs < 4e8 || r.Phi <= 1 {
			t.Errorf("trial %d (%s): %d FLOPs at phi %g; target 8e8", r.Trial, r.Role, r.FLOPs, r.Phi)
		}
	}
	if _, err := cellar(t, "trials", "--db", db, "--scaling", "--exp", "1"); err != nil {
		t.Error(err)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	if _, err := cellar(t, "search", "-c", writeExp(t, "name: r\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 2}\n"), "--db", other, "--no-progress"); err != nil {
		t.Fatal(err)
	}
	if _, err := cellar(t, "trials", "--db", other, "--scaling"); err == nil || !strings.Contains(err.Error(), "not a compound scaling search") {
		t.Errorf("--scaling on a random search: %v", err)
	}
}
