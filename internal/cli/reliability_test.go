package cli

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"cellar/engine"
	"cellar/internal/damage"
	"cellar/internal/testkit"
	"cellar/internal/testtable"
	"cellar/storage"
)

// childResult is what a cellar child process did.
type childResult struct {
	stdout, stderr string
	code           int
}

// crashed says the child died of a panic or a fatal runtime error, or a signal.
func (r childResult) crashed() bool {
	return r.code == 2 || r.code < 0 || strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "fatal error:") || strings.Contains(r.stderr, "goroutine ")
}

// runChild runs cellar with args as a real process (this test binary, see TestMain).
func runChild(t *testing.T, args ...string) childResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join(args, "\x1f"))
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("cellar %v: %v", args, err)
	}
	return childResult{out.String(), errb.String(), code}
}

// tableExp writes an experiment on a synthetic NB201 table (it runs everywhere).
func tableExp(t *testing.T, evaluator string, trials, parallel int, extra string) string {
	t.Helper()
	table := testtable.NB201(t, testtable.Smooth)
	return writeExp(t, fmt.Sprintf("name: rel\nseed: 9\nspace: {name: nb201}\nstrategy: {name: regevo, population: 20, sample: 5}\nevaluator: {name: %s, path: %s%s}\nbudget: {trials: %d}\nparallelism: %d\n",
		evaluator, table, extra, trials, parallel))
}

func TestDamagedFilesThroughEveryCommand(t *testing.T) {
	t.Parallel() // waits on child processes and delays more than it computes
	dir := t.TempDir()
	base := filepath.Join(dir, "base.db")
	exp := tableExp(t, "table", 400, 2, "")
	for range 2 {
		if out, err := cellar(t, "search", "-c", exp, "--db", base, "--no-progress"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, []byte("role=viewer ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk5dBbZk6Kq/4wJ4h+2hG0mD6VOe1tJmNZ3CJpp3vT4 t@x\n"), 0o600)
	// Every command that opens a DB, and whether it may add to a file whose pages
	// are sound (a new experiment) when records inside are damaged.
	commands := []struct {
		args     []string
		addsExps bool
	}{
		{[]string{"trials", "--db", "F"}, false},
		{[]string{"trials", "--db", "F", "--json", "--exp", "1"}, false},
		{[]string{"show", "--db", "F", "--exp", "1", "3"}, false},
		{[]string{"audit", "--db", "F", "--exp", "1"}, false},
		{[]string{"replay", "--db", "F", "--exp", "2", "--json"}, false},
		{[]string{"check", "--db", "F"}, false},
		{[]string{"salvage", "--db", "F", "-o", "OUT"}, false},
		{[]string{"search", "--db", "F", "--resume", "1", "--no-progress"}, false},
		{[]string{"serve", "--db", "F", "--resume", "2", "--ssh", "127.0.0.1:0", "--authorized-keys", keys, "--host-key", "HOST"}, false},
		{[]string{"search", "-c", exp, "--db", "F", "--no-progress", "--trials", "3"}, true},
		{[]string{"fork", "--db", "F", "--exp", "1", "--at", "10"}, true},
	}
	corpus := damage.Corpus(t, base)
	// A file another process holds: every command waits its timeout and says so.
	corpus = append(corpus, damage.Case{Name: "locked by another process", Make: func(t testing.TB, dir string) string {
		p := filepath.Join(dir, "x.db")
		raw, _ := os.ReadFile(base)
		os.WriteFile(p, raw, 0o600)
		b, err := bolt.Open(p, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return p
	}})
	if testing.Short() {
		var some []damage.Case
		for i, c := range corpus {
			if i%3 == 0 {
				some = append(some, c)
			}
		}
		corpus = some
	}
	for i, d := range corpus {
		t.Run(d.Name, func(t *testing.T) {
			sub := filepath.Join(dir, strconv.Itoa(i))
			os.Mkdir(sub, 0o700)
			path := d.Make(t, sub)
			before := damage.Hash(t, path)
			// Whether cellar may write at all: its pages are sound and it is writable.
			writable := false
			if db, err := storage.OpenMode(path, 100*time.Millisecond, storage.Existing); err == nil {
				writable = true
				db.Close()
			}
			var codes []string
			defer func() { t.Logf("exit codes: %s", strings.Join(codes, " ")) }()
			for _, c := range commands {
				args := make([]string, len(c.args))
				for j, a := range c.args {
					switch a {
					case "F":
						a = path
					case "OUT":
						a = filepath.Join(sub, "out.db")
					case "HOST":
						a = filepath.Join(sub, "host")
					}
					args[j] = a
				}
				os.Remove(filepath.Join(sub, "out.db"))
				r := runChild(t, args...)
				codes = append(codes, fmt.Sprintf("%s=%d", c.args[0], r.code))
				if r.crashed() {
					t.Fatalf("cellar %s crashed (exit %d):\n%s", strings.Join(c.args, " "), r.code, r.stderr)
				}
				if r.code != 0 && !strings.HasPrefix(r.stderr, "cellar: ") && !strings.Contains(r.stderr, "\ncellar: ") {
					t.Errorf("cellar %s: exit %d with no error said:\n%s", strings.Join(c.args, " "), r.code, r.stderr)
				}
				if after := damage.Hash(t, path); after != before {
					if !(c.addsExps && writable) {
						t.Fatalf("cellar %s changed the file (exit %d):\n%s", strings.Join(c.args, " "), r.code, r.stderr)
					}
					before = after // it added an experiment, as it may
				}
			}
		})
	}
}

// killLoop runs a real `cellar search` of exp into db, SIGKILLs it at random moments
// kills times (resuming after each), checks the file after every kill, and finishes
// the search. It returns how many trials were done at each kill.
func killLoop(t *testing.T, exp, db string, kills int, seed uint64, window time.Duration) []int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var at []int
	for k := 0; k < kills; k++ {
		args := []string{"search", "-c", exp, "--db", db, "--no-progress"}
		if stored(t, db) {
			args = []string{"search", "--resume", "1", "--db", db, "--no-progress"}
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join(args, "\x1f"))
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(window))))
		cmd.Process.Signal(syscall.SIGKILL)
		state, _ := cmd.Process.Wait()
		if strings.Contains(errb.String(), "panic:") || strings.Contains(errb.String(), "fatal error:") {
			t.Fatalf("kill %d: the search crashed before the kill:\n%s", k+1, errb.String())
		}
		if _, err := os.Stat(db); err != nil {
			at = append(at, 0) // killed before it created the file
			continue
		}
		r, err := storage.Check(db)
		if err != nil {
			t.Fatalf("kill %d (%v): check: %v", k+1, state, err)
		}
		if !r.OK() {
			t.Fatalf("kill %d: the file has problems after SIGKILL: %+v", k+1, r)
		}
		n := 0
		if len(r.Experiments) > 0 {
			n = r.Experiments[0].Readable
		}
		at = append(at, n)
		if strings.Contains(errb.String(), "already finished") {
			break
		}
	}
	if !stored(t, db) {
		if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	} else if out, err := cellar(t, "search", "--resume", "1", "--db", db, "--no-progress"); err != nil && !strings.Contains(err.Error(), "already finished") {
		t.Fatalf("final resume: %v\n%s", err, out)
	}
	return at
}

// stored says db holds an experiment: a search killed before it stored one leaves
// no file (or, killed between creating the file and storing it, an empty one).
func stored(t *testing.T, db string) bool {
	if _, err := os.Stat(db); err != nil {
		return false
	}
	r, err := storage.Check(db)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return len(r.Experiments) > 0
}

// storedTrials reads experiment 1 of db.
// evaluated counts the trials that were evaluated: not duplicates of earlier ones
// (dedupe), which a trial budget does not count.
func evaluated(trials []engine.Trial) int {
	n := 0
	for _, t := range trials {
		if t.Duplicate == 0 {
			n++
		}
	}
	return n
}

func storedTrials(t *testing.T, db string) []engine.Trial {
	t.Helper()
	d, x, err := openExperiment(db, "1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	trials, err := x.Trials()
	if err != nil {
		t.Fatal(err)
	}
	return trials
}

// sameSearch fails unless got holds trials 1..len(want), each as want has it.
func sameSearch(t *testing.T, got, want []engine.Trial, metrics ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d trials after the kills, %d uninterrupted", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != uint64(i+1) || g.Arch != w.Arch || g.Parent != w.Parent || g.State != w.State || g.Seed != w.Seed {
			t.Fatalf("trial %d: after kills %d %s (parent %d, %s), uninterrupted %d %s (parent %d, %s)", i+1, g.ID, g.Arch, g.Parent, g.State, w.ID, w.Arch, w.Parent, w.State)
		}
		for _, m := range metrics {
			if g.Metrics[m] != w.Metrics[m] {
				t.Fatalf("trial %d: %s %v after kills, %v uninterrupted", i+1, m, g.Metrics[m], w.Metrics[m])
			}
		}
	}
}

// kills is how many times the kill loops kill: CELLAR_KILLS (bench/reliability.sh
// sets it), else 10 (3 in -short).
func kills(t *testing.T, full int) int {
	if s := os.Getenv("CELLAR_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("CELLAR_KILLS=%q", s)
		}
		return n
	}
	if testing.Short() {
		return 3
	}
	return full
}

func TestKillLoopTableSearch(t *testing.T) {
	t.Parallel() // waits on child processes and delays more than it computes
	n := kills(t, 10)
	// About 30 trials between kills, so that every kill lands inside the search.
	trials := max(150, 30*n)
	if !testing.Short() {
		trials = max(300, trials)
	}
	exp := tableExp(t, "slowtable", trials, 3, ", delay: 40ms")
	db := filepath.Join(t.TempDir(), "kill.db")
	at := killLoop(t, exp, db, n, 1, 800*time.Millisecond)
	// The reference runs without the delay: the engine gives the same trials whatever
	// the timing (TestSameSeedSameTrials), and the delay only spread the kills.
	ref := filepath.Join(t.TempDir(), "ref.db")
	if out, err := cellar(t, "search", "-c", tableExp(t, "table", trials, 3, ""), "--db", ref, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	sameSearch(t, storedTrials(t, db), storedTrials(t, ref), "test_accuracy")
	t.Logf("reliability: table search, %d kills, trials stored at each kill %v, lost 0, duplicated 0, resumed to %d identical trials", len(at), at, len(storedTrials(t, ref)))
}

func TestKillLoopTrainingSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("trains networks; runs in the full suite")
	}
	n := max(kills(t, 10)/3, 2)
	exp := writeExp(t, fmt.Sprintf(`name: relt
seed: 3
space: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28], classes: 10}
strategy: {name: regevo, population: 6, sample: 3}
evaluator: {name: train, dataset: mnist, val: 200, subset: 300, test_size: 200, epochs: 1, batch: 32}
budget: {trials: %d}
parallelism: 2
`, 20*n))
	db := filepath.Join(t.TempDir(), "killt.db")
	at := killLoop(t, exp, db, n, 2, 5*time.Second)
	ref := filepath.Join(t.TempDir(), "ref.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", ref, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	sameSearch(t, storedTrials(t, db), storedTrials(t, ref), "val_accuracy", "test_accuracy")
	t.Logf("reliability: training search, %d kills, trials stored at each kill %v, lost 0, duplicated 0", len(at), at)
}

// interruptSearch runs a real `cellar search` of exp into db, sends sig once it has
// stored n trials (--events prints each then), and returns what it printed after
// that and its exit status.
func interruptSearch(t *testing.T, exp, db string, n int, sig syscall.Signal) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join([]string{"search", "-c", exp, "--db", db, "--no-progress", "--events"}, "\x1f"))
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for i := 0; i < n; i++ {
		if !sc.Scan() {
			t.Fatalf("the search printed %d trials, not %d", i, n)
		}
	}
	cmd.Process.Signal(sig)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	cmd.Wait()
	return out.String(), cmd.ProcessState.ExitCode()
}

func TestExitCodes(t *testing.T) {
	exp := tableExp(t, "slowtable", 100000, 2, ", delay: 20ms")
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, exitInterrupted}, {syscall.SIGTERM, exitTerminated}} {
		db := filepath.Join(t.TempDir(), "x.db")
		out, got := interruptSearch(t, exp, db, 1, tc.sig)
		if got != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.sig, got, tc.code)
		}
		if !strings.Contains(out, "cellar search --db "+db+" --resume 1") {
			t.Errorf("%v: no resume hint in %q", tc.sig, out)
		}
	}
	// Finished: 0. Failed (a bad config): 1, with the error on stderr.
	done := tableExp(t, "table", 5, 1, "")
	if r := runChild(t, "search", "-c", done, "--db", filepath.Join(t.TempDir(), "d.db"), "--no-progress"); r.code != 0 {
		t.Errorf("a finished search exits %d:\n%s", r.code, r.stderr)
	}
	bad := writeExp(t, "name: x\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: 1.5}\n")
	if r := runChild(t, "search", "-c", bad, "--db", filepath.Join(t.TempDir(), "b.db")); r.code != exitFailed || !strings.Contains(r.stderr, "budget.trials: 1.5 is not a whole number") {
		t.Errorf("a failed search exits %d: %s", r.code, r.stderr)
	}
}

func TestFailedStartsLeaveNoDatabase(t *testing.T) {
	dir := t.TempDir()
	exp := tableExp(t, "table", 5, 1, "")
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, []byte("role=viewer ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk5dBbZk6Kq/4wJ4h+2hG0mD6VOe1tJmNZ3CJpp3vT4 t@x\n"), 0o600)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	badHost := filepath.Join(dir, "badhost")
	os.WriteFile(badHost, []byte("not a key"), 0o600)
	db := filepath.Join(dir, "never.db")
	for _, args := range [][]string{
		{"serve", "-c", exp, "--db", db, "--ssh", busy.Addr().String(), "--authorized-keys", keys, "--host-key", filepath.Join(dir, "host")},
		{"serve", "-c", exp, "--db", db, "--ssh", "127.0.0.1:0", "--authorized-keys", keys, "--host-key", badHost},
		{"search", "--resume", "1", "--db", db},
		{"search", "-c", writeExp(t, "name: x\nspace: nb201\nstrategy: regevo\nevaluator: {name: table, path: /nonexistent.csv}\nbudget: {trials: 3}\n"), "--db", db},
		{"fork", "--db", db, "--exp", "1", "--at", "2"},
	} {
		r := runChild(t, args...)
		if r.code != exitFailed || r.crashed() {
			t.Errorf("cellar %s: exit %d:\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("cellar %s failed, yet left %s behind", strings.Join(args, " "), db)
		}
	}
	// On an existing DB, a failed serve adds no experiment.
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	before := damage.Hash(t, db)
	r := runChild(t, "serve", "-c", exp, "--db", db, "--ssh", busy.Addr().String(), "--authorized-keys", keys, "--host-key", filepath.Join(dir, "host"))
	if r.code != exitFailed || damage.Hash(t, db) != before {
		t.Fatalf("a serve on a port in use exits %d and changed the DB: %v", r.code, damage.Hash(t, db) != before)
	}
}

func TestResumesOfOneDBNameTheSameBest(t *testing.T) {
	t.Parallel() // waits on child processes and delays more than it computes
	// Thousands of cells tie on this table: the best is a tie every time.
	table := testtable.NB201(t, testtable.Convs)
	exp := writeExp(t, fmt.Sprintf("name: ties\nseed: 8\nspace: nb201\nstrategy: {name: regevo, population: 20, sample: 5}\nevaluator: {name: slowtable, path: %s, delay: 5ms}\nbudget: {trials: 200}\nparallelism: 3\n", table))
	db := filepath.Join(t.TempDir(), "ties.db")
	interruptSearch(t, exp, db, 60, syscall.SIGINT)
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	var bests []string
	for i := range 3 {
		cp := filepath.Join(t.TempDir(), fmt.Sprintf("copy%d.db", i))
		os.WriteFile(cp, raw, 0o600)
		out, err := cellar(t, "search", "--resume", "1", "--db", cp, "--no-progress")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		best := regexp.MustCompile(`best: trial (\d+)`).FindStringSubmatch(out)
		if best == nil {
			t.Fatalf("no best in %s", out)
		}
		bests = append(bests, best[1])
		// The best is the lowest id of the top score.
		trials := storedTrials(t, cp)
		top, low := -1.0, uint64(0)
		for _, tr := range trials {
			if v := tr.Metrics["test_accuracy"]; tr.Full() && (v > top || v == top && tr.ID < low) {
				top, low = v, tr.ID
			}
		}
		if best[1] != strconv.FormatUint(low, 10) {
			t.Errorf("resume %d names trial %s best; the lowest id at the top score %g is %d", i, best[1], top, low)
		}
	}
	if bests[0] != bests[1] || bests[1] != bests[2] {
		t.Fatalf("three resumes of one DB name bests %v", bests)
	}
}

// A search whose trials run a command is killed with SIGKILL while commands run: the
// commands die with it (the parent-death signal), and the resume runs the
// interrupted trials again, each in a fresh directory beside the DB, to the end.
func TestKilledSearchTakesItsCommandsAlong(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux's")
	}
	dir := t.TempDir()
	run := filepath.Join(dir, "train.sh")
	// The pid is written last, so that a command counted as running has marked its
	// directory.
	os.WriteFile(run, []byte(`#!/bin/sh
test -e "$CELLAR_TRIAL_DIR/stale" && { echo "a stale trial directory" >&2; exit 1; }
touch "$CELLAR_TRIAL_DIR/stale"
echo $$ >> `+dir+`/pids
[ -e `+dir+`/go ] || sleep 1000
echo "hello from trial $CELLAR_TRIAL_ID"
echo '{"metrics": {"val_accuracy": '$CELLAR_TRIAL_ID'}}'
`), 0o755)
	exp := writeExp(t, "name: k\nseed: 2\nspace: {name: nb201, channels: 4, cells: 1}\nstrategy: random\nevaluator: {name: command, run: ["+run+"]}\nbudget: {trials: 4}\nparallelism: 2\n")
	db := filepath.Join(dir, "k.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join([]string{"search", "-c", exp, "--db", db, "--no-progress"}, "\x1f"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidsOf := func() []int {
		b, _ := os.ReadFile(filepath.Join(dir, "pids"))
		var out []int
		for _, f := range strings.Fields(string(b)) {
			p, _ := strconv.Atoi(f)
			out = append(out, p)
		}
		return out
	}
	testkit.WaitFor(t, "two commands to run", func() bool { return len(pidsOf()) == 2 })
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Process.Wait()
	for _, p := range pidsOf() {
		testkit.WaitFor(t, fmt.Sprintf("command %d to die with cellar", p), func() bool {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
			return err != nil || strings.Contains(string(b), ") Z ")
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "k.files", "1", "trial-1", "stale")); err != nil {
		t.Fatalf("the trial directory beside the DB: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	if out, err := cellar(t, "search", "--resume", "1", "--db", db, "--no-progress"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	trials := storedTrials(t, db)
	if len(trials) != 4 {
		t.Fatalf("%d trials after the resume", len(trials))
	}
	for _, tr := range trials {
		if tr.State != engine.Done || tr.Metrics["val_accuracy"] != float64(tr.ID) {
			t.Errorf("trial %d: %s %s %v", tr.ID, tr.State, tr.Error, tr.Metrics)
		}
	}
	if out, err := cellar(t, "show", "--db", db, "3"); err != nil || !strings.Contains(out, "log (its last 1 lines):\n    hello from trial 3") {
		t.Errorf("show: %v\n%s", err, out)
	}
}
