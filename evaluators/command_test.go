package evaluators_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
)

// script writes a shell script to run as the command and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the command evaluator's tests run shell scripts")
	}
	p := filepath.Join(t.TempDir(), "train.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func commandExp(t *testing.T, run string, trials, parallel int, extra string) *engine.Experiment {
	t.Helper()
	return enginetest.Build(t, fmt.Sprintf("name: cmd\nseed: 4\nspace: {name: nb201, channels: 4, cells: 1}\nstrategy: random\n"+
		"evaluator: {name: command, run: [%s]%s}\nbudget: {trials: %d}\nparallelism: %d\n", run, extra, trials, parallel))
}

// The command gets its trial as files and environment, reports epochs and a final
// line, and its other output is the trial's log.
func TestCommandRunsAndReports(t *testing.T) {
	run := script(t, `
test -f "$CELLAR_TRIAL_DIR/model.py" -a -f "$CELLAR_TRIAL_DIR/arch.json" -a -f "$CELLAR_TRIAL_DIR/trial.json" || { echo "no trial files" >&2; exit 3; }
grep -q '"trial": '"$CELLAR_TRIAL_ID" "$CELLAR_TRIAL_DIR/trial.json" || exit 4
grep -q "class CellarNet" "$CELLAR_MODEL" || exit 5
echo "training $CELLAR_ARCH for $CELLAR_EPOCHS epochs, $MY_FLAG"
s=$(printf %s "$CELLAR_SEED" | tail -c 2)
acc=$(( (1$s - 100) % 50 + 40 ))
echo '{"epoch": 1, "metrics": {"val_accuracy": 10, "loss": 2.5}}'
echo 'not json {'
echo '{"epoch": 2, "metrics": {"val_accuracy": '$acc', "loss": 1.5}}'
printf '{"metrics": {"val_accuracy": %d, "test_accuracy": 1}}' $acc
`)
	exp := commandExp(t, run, 5, 2, ", epochs: 2, metrics: [val_accuracy, test_accuracy], env: {MY_FLAG: set}")
	store := &enginetest.MemStore{}
	e := engine.New(exp, engine.Options{Store: store})
	sub := e.Subscribe()
	counted := make(chan int)
	go func() {
		n := 0
		for ev := range sub.C {
			if ev.Kind == engine.TrialProgress {
				n++
			}
		}
		counted <- n
	}()
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	reports := <-counted
	if len(store.Trials) != 5 {
		t.Fatalf("%d trials stored", len(store.Trials))
	}
	for _, tr := range store.Trials {
		want := float64(engine.TrialSeed(4, tr.ID)%100%50 + 40) // the seed's last two digits
		if tr.State != engine.Done || tr.Metrics["val_accuracy"] != want || tr.Metrics["test_accuracy"] != 1 {
			t.Errorf("trial %d: %s %s, metrics %v; want val_accuracy %v", tr.ID, tr.State, tr.Error, tr.Metrics, want)
		}
		if len(tr.Curve) != 2 || tr.Curve[1].Metrics["loss"] != 1.5 || tr.Curve[0].Epoch != 1 {
			t.Errorf("trial %d: curve %+v", tr.ID, tr.Curve)
		}
		if len(tr.Log) != 2 || tr.Log[0] != "training "+tr.Arch+" for 2 epochs, set" || tr.Log[1] != "not json {" {
			t.Errorf("trial %d: log %q", tr.ID, tr.Log)
		}
	}
	if reports < 10 {
		t.Errorf("%d progress events; want the two epochs of every trial", reports)
	}
}

// Every way a command can fail fails its trial with the reason, and the search goes
// on; a program that is not there, or a workdir that is not, is refused up front.
func TestCommandFailuresFailTheTrial(t *testing.T) {
	for _, c := range []struct{ body, extra, want string }{
		{`echo "CUDA out of memory" >&2; exit 7`, "", "exited with status 7; its stderr ends:\nCUDA out of memory"},
		{`echo '{"epoch": 1, "metrics": {"val_accuracy": 3}}'`, "", "printed no final metrics line"},
		{`echo '{"metrics": {"val_accuracy": NaN}}'`, "", "not a number"},
		{`echo '{"metrics": {"val_accuracy": null}}'`, "", "val_accuracy = null, which is not a number"},
		{`echo '{"epoch": 1, "metrics": {"val_accuracy": null}}'; echo '{"metrics": {"val_accuracy": 1}}'`, "", "val_accuracy = null, which is not a number"},
		{`echo '{"metrics": {"val_accuracy": "high"}}'`, "", `val_accuracy = "high", which is not a number`},
		{`echo '{"metrics": {"loss": 0.1}}'`, "", "gave no val_accuracy (it gave: loss)"},
		{`sleep 30; echo '{"metrics": {"val_accuracy": 1}}'`, ", timeout: 200ms, grace: 100ms", "timed out after 200ms"},
		{`kill -9 $$`, "", "was killed by killed"},
	} {
		exp := commandExp(t, script(t, c.body), 2, 1, c.extra)
		store := &enginetest.MemStore{}
		enginetest.Run(t, exp, engine.Options{Store: store})
		for _, tr := range store.Trials {
			if tr.State != engine.Failed || !strings.Contains(tr.Error, c.want) {
				t.Errorf("%s: trial %d %s: %q; want a failure with %q", c.body, tr.ID, tr.State, tr.Error, c.want)
			}
		}
		if len(store.Trials) != 2 {
			t.Errorf("%s: %d trials; the search must go on", c.body, len(store.Trials))
		}
	}
	for _, c := range []struct{ evaluator, want string }{
		{"{name: command, run: [no-such-program-here]}", "no-such-program-here: not found"},
		{"{name: command, run: [sh], workdir: /no/such/dir}", "workdir /no/such/dir is not a directory"},
		{"{name: command}", "give the program to run"},
		{"{name: command, run: [sh], early_stop: {rule: asha}}", "early_stop needs epochs"},
		{"{name: command, run: [sh], metrics: []}", "name the metrics"},
	} {
		cfg, err := engine.ParseConfig([]byte("space: nb201\nstrategy: random\nbudget: {trials: 1}\nevaluator: " + c.evaluator + "\n"))
		if err == nil {
			_, err = engine.Build(cfg, nil, evaluators.Builtin())
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error with %q", c.evaluator, err, c.want)
		}
	}
}

// A program that prints without bound fills no memory: a line is cut at 64 KiB and
// marked, the log is bounded in bytes, a curve of 20,000 epochs is thinned to at most
// 4,096 points with its first and last, and the final line after them all still counts.
func TestUnboundedOutputIsBounded(t *testing.T) {
	body := `head -c 3000000 /dev/zero | tr '\0' x; echo
for i in $(seq 1 20); do head -c 200000 /dev/zero | tr '\0' y; echo; done
i=0; while [ $i -lt 20000 ]; do i=$((i+1)); echo "{\"epoch\": $i, \"metrics\": {\"val_accuracy\": $i}}"; done
printf '{"metrics": {"val_accuracy": 99}}'`
	exp := commandExp(t, script(t, body), 1, 1, "")
	store := &enginetest.MemStore{}
	enginetest.Run(t, exp, engine.Options{Store: store})
	tr := store.Trials[1]
	if tr.State != engine.Done || tr.Metrics["val_accuracy"] != 99 {
		t.Fatalf("trial %s %q, metrics %v", tr.State, tr.Error, tr.Metrics)
	}
	logBytes := 0
	for _, l := range tr.Log {
		logBytes += len(l)
		if len(l) > 64<<10+len(" …[cut: the line was longer than 64 KiB]") {
			t.Errorf("a log line of %d bytes", len(l))
		}
	}
	if logBytes > 256<<10 || len(tr.Log) == 0 || !strings.HasSuffix(tr.Log[len(tr.Log)-1], "…[cut: the line was longer than 64 KiB]") {
		t.Errorf("log: %d lines, %d bytes", len(tr.Log), logBytes)
	}
	n := len(tr.Curve)
	if n > 4096 || n < 2048 || tr.Curve[0].Epoch != 1 || tr.Curve[n-1].Epoch != 20000 {
		t.Errorf("curve: %d points, from epoch %v to %v", n, tr.Curve[0].Epoch, tr.Curve[n-1].Epoch)
	}
}

// alive says whether process pid still runs (a zombie counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || !strings.Contains(string(b), ") Z ")
}

// pids reads the pids the scripts wrote into dir.
func pids(t *testing.T, dir string) []int {
	t.Helper()
	var out []int
	files, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// A pause that cancels ends the command and everything it started (its process
// group), and the trial runs again later.
func TestCancelEndsTheWholeProcessGroup(t *testing.T) {
	dir := t.TempDir()
	run := script(t, `
sleep 1000 &
echo $! > `+dir+`/child-$CELLAR_TRIAL_ID.pid
echo $$ > `+dir+`/main-$CELLAR_TRIAL_ID.pid
trap 'exit 0' TERM
wait
`)
	exp := commandExp(t, run, 2, 2, ", grace: 200ms")
	e := engine.New(exp, engine.Options{Store: &enginetest.MemStore{}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	testkit.WaitFor(t, "both commands and their children to start", func() bool { return len(pids(t, dir)) == 4 })
	if err := e.Pause(true); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the cancelled trials to be taken back", func() bool { return len(e.Snapshot().Running) == 0 })
	for _, p := range pids(t, dir) {
		testkit.WaitFor(t, fmt.Sprintf("process %d to end", p), func() bool { return !alive(p) })
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
}

// Early stopping ends a running command that ranks too low (SIGTERM to its group)
// and stores the trial as stopped, with its curve so far.
func TestEarlyStopEndsTheCommand(t *testing.T) {
	dir := t.TempDir()
	// Accuracy falls with the trial id, so later trials rank low at the first rung.
	run := script(t, `
echo $$ > `+dir+`/main-$CELLAR_TRIAL_ID.pid
for e in 1 2 3 4 5 6 7 8 9; do
  echo '{"epoch": '$e', "metrics": {"val_accuracy": '$(( 100 - CELLAR_TRIAL_ID ))'}}'
  sleep 0.02
done
echo '{"metrics": {"val_accuracy": '$(( 100 - CELLAR_TRIAL_ID ))'}}'
`)
	exp := commandExp(t, run, 9, 1, ", epochs: 9, early_stop: {rule: asha, grace: 1, eta: 3}")
	store := &enginetest.MemStore{}
	enginetest.Run(t, exp, engine.Options{Store: store})
	stopped := 0
	for _, tr := range store.Trials {
		if tr.Stop == nil {
			if tr.State != engine.Done || len(tr.Curve) != 9 {
				t.Errorf("trial %d: %s %s, %d epochs", tr.ID, tr.State, tr.Error, len(tr.Curve))
			}
			continue
		}
		stopped++
		if tr.State != engine.Done || tr.Stop.Rule != "asha" || len(tr.Curve) != int(tr.Stop.Epoch) || len(tr.Curve) >= 9 {
			t.Errorf("stopped trial %d: %s, stop %+v, %d epochs reported", tr.ID, tr.State, tr.Stop, len(tr.Curve))
		}
	}
	if stopped == 0 {
		t.Error("no trial was stopped early")
	}
	for _, p := range pids(t, dir) {
		if alive(p) {
			t.Errorf("process %d of a stopped trial still runs", p)
		}
	}
}

// Each running trial has a device of its own.
func TestDevicesAreNotShared(t *testing.T) {
	dir := t.TempDir()
	run := script(t, `
mkdir `+dir+`/dev-$CUDA_VISIBLE_DEVICES || { echo "device $CUDA_VISIBLE_DEVICES is in use" >&2; exit 1; }
echo $CUDA_VISIBLE_DEVICES >> `+dir+`/seen
sleep 0.05
rmdir `+dir+`/dev-$CUDA_VISIBLE_DEVICES
echo '{"metrics": {"val_accuracy": 1}}'
`)
	exp := commandExp(t, run, 8, 3, ", devices: [0, 1, 2]")
	store := &enginetest.MemStore{}
	enginetest.Run(t, exp, engine.Options{Store: store})
	for _, tr := range store.Trials {
		if tr.State != engine.Done {
			t.Errorf("trial %d: %s", tr.ID, tr.Error)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "seen"))
	seen := strings.Fields(string(b))
	slices.Sort(seen)
	if len(seen) != 8 || slices.Compact(seen)[0] != "0" {
		t.Errorf("devices used: %v", seen)
	}
}

// BenchmarkCommandTrial is one trial of the command evaluator with a program that
// only prints its final line: writing the trial's files (model.py, arch.json,
// trial.json), starting the program, reading its report. BenchmarkSpawnBaseline
// starts the same shell printing the same line and nothing else: the floor the
// system sets. Their ratio is the evaluator's overhead.
func BenchmarkCommandTrial(b *testing.B) {
	run := filepath.Join(b.TempDir(), "train.sh")
	os.WriteFile(run, []byte("#!/bin/sh\necho '{\"metrics\": {\"val_accuracy\": 1}}'\n"), 0o755)
	exp := enginetest.Build(b, "space: {name: nb201, channels: 4, cells: 1}\nstrategy: random\nevaluator: {name: command, run: ["+run+"]}\nbudget: {trials: 1}\n")
	a := exp.Space.Sample(rand.New(rand.NewPCG(1, 1)))
	dir := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		if _, err := exp.Evaluator.Evaluate(context.Background(), engine.Job{Trial: uint64(i + 1), Seed: 1, Arch: a, Dir: dir}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSpawnBaseline(b *testing.B) {
	run := filepath.Join(b.TempDir(), "train.sh")
	os.WriteFile(run, []byte("#!/bin/sh\necho '{\"metrics\": {\"val_accuracy\": 1}}'\n"), 0o755)
	for range b.N {
		if _, err := exec.Command(run).Output(); err != nil {
			b.Fatal(err)
		}
	}
}

// A command's run that names a file here by a relative path is what a worker of the
// queue cannot be expected to have; a workdir given, or an absolute path, is not.
func TestRelativeFilesOfACommand(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("train.py", []byte("print()"), 0o644); err != nil {
		t.Fatal(err)
	}
	comp := func(src string) engine.Component {
		cfg, err := engine.ParseConfig([]byte("space: nb201\nstrategy: random\nbudget: {trials: 1}\nevaluator: " + src + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Evaluator
	}
	if got := evaluators.RelativeFiles(comp("{name: command, run: [python3, train.py, --epochs, '3']}")); !slices.Equal(got, []string{"train.py"}) {
		t.Errorf("relative: %v", got)
	}
	abs := filepath.Join(dir, "train.py")
	for _, src := range []string{"{name: command, run: [python3, " + abs + "]}", "{name: command, run: [python3, train.py], workdir: " + dir + "}", "{name: params}"} {
		if got := evaluators.RelativeFiles(comp(src)); len(got) != 0 {
			t.Errorf("%s: %v", src, got)
		}
	}
}
