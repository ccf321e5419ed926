package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cellar/internal/testkit"
)

// browse takes its DB as --db F, like every other command, or as its argument; both
// at once, when they differ, is an error.
func TestBrowseTakesDBFlagOrArgument(t *testing.T) {
	exp := writeExp(t, "name: looked-at\nseed: 1\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 3}\n")
	db := filepath.Join(t.TempDir(), "b.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, args := range [][]string{{"browse", "--db", db}, {"browse", db}} {
		out, keys, done := interactive(t, args...)
		testkit.WaitFor(t, "the experiment list", func() bool { return strings.Contains(out.String(), "looked-at") })
		keys.Write([]byte("q")) // the experiment list: q quits
		if err := <-done; err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if _, err := cellar(t, "browse", "--db", db, "other.db"); err == nil || !strings.Contains(err.Error(), "two databases") {
		t.Errorf("--db and another argument: %v", err)
	}
}

// ending is how a terminal program is ended: a signal, or keys typed.
type ending struct {
	name string
	sig  os.Signal
	keys string
	want int // the exit status
}

func (e ending) String() string { return e.name }

// browse's exit status says how it ended, as every other command's does: q 0, Ctrl-C
// in the UI or SIGINT 130, SIGTERM 143.
func TestBrowseExitStatusSaysHowItEnded(t *testing.T) {
	exp := writeExp(t, "name: looked-at\nseed: 1\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 3}\n")
	db := filepath.Join(t.TempDir(), "b.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	testkit.Sweep(t, []ending{
		{"SIGINT", syscall.SIGINT, "", exitInterrupted},
		{"SIGTERM", syscall.SIGTERM, "", exitTerminated},
		{"ctrl+c", nil, "\x03", exitInterrupted},
		{"ctrl+c in the trial list", nil, "\r\x03", exitInterrupted},
		{"q", nil, "q", 0},
	}, func(ending) bool { return true }, func(t *testing.T, e ending) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD=browse\x1f"+db)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		var out testkit.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testkit.WaitFor(t, "the experiment list", func() bool { return strings.Contains(out.String(), "looked-at") })
		if e.sig != nil {
			cmd.Process.Signal(e.sig)
		} else {
			stdin.Write([]byte(e.keys))
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		testkit.Receive(t, done, "browse to end")
		if code := cmd.ProcessState.ExitCode(); code != e.want {
			t.Errorf("exit status %d, want %d", code, e.want)
		}
	})
}

// browse of a file that is not there, or not a cellar DB, says so once and exits 1
// before the screen is taken.
func TestBrowseRefusesAMissingDBBeforeTheScreen(t *testing.T) {
	dir := t.TempDir()
	for path, want := range map[string]string{
		filepath.Join(dir, "nope.db"): filepath.Join(dir, "nope.db") + ": no such file (a search makes one: cellar search -c exp.yaml --db " + filepath.Join(dir, "nope.db") + ")",
		dir:                           "a directory, not a cellar database",
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD=browse\x1f"+path)
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), want) || strings.Count(string(out), path) > 2 || strings.Contains(string(out), "\x1b[") {
			t.Errorf("browse %s: exit %d\n%q", path, code, out)
		}
	}
}

// A mistyped command names the nearest ones.
func TestMistypedCommandSuggests(t *testing.T) {
	for typed, want := range map[string]string{"serch": "did you mean search", "trails": "did you mean trials", "brwse": "did you mean browse"} {
		if _, err := cellar(t, typed); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `unknown command "`+typed+`"`) {
			t.Errorf("cellar %s: %v; want %q", typed, err, want)
		}
	}
	if _, err := cellar(t, "zzz"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("cellar zzz: %v; want no suggestion", err)
	}
	// Flags too, of the command they are given to.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trails", "3"}, "unknown flag: --trails; did you mean --trials?"},
		{[]string{"search", "--no-progres"}, "did you mean --no-progress?"},
		{[]string{"trials", "--jsno"}, "did you mean --json?"},
		{[]string{"worker", "--nats-tokn-file", "x"}, "did you mean --nats-token-file?"},
	} {
		if _, err := cellar(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cellar %v: %v; want %q", tc.args, err, tc.want)
		}
	}
	if _, err := cellar(t, "--zzzzzz"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("cellar --zzzzzz: %v; want no suggestion", err)
	}
}
