package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"cellar/engine"
	"cellar/internal/testkit"
	"cellar/internal/testtable"
)

// child is a cellar process of this test binary (see TestMain), its stderr watched.
type child struct {
	cmd  *exec.Cmd
	mu   chan struct{}
	err  strings.Builder
	out  strings.Builder
	done chan error
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), done: make(chan error, 1), mu: make(chan struct{}, 1)}
	c.cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join(args, "\x1f"))
	stderr, _ := c.cmd.StderrPipe()
	c.cmd.Stdout = writerTo(c, &c.out)
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.mu <- struct{}{}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			<-c.mu
			c.err.WriteString(sc.Text() + "\n")
			c.mu <- struct{}{}
		}
		io.Copy(io.Discard, stderr)
		c.done <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
	})
	return c
}

// writerTo writes into b under c's lock.
func writerTo(c *child, b *strings.Builder) io.Writer {
	return writeFunc(func(p []byte) (int, error) {
		<-c.mu
		defer func() { c.mu <- struct{}{} }()
		return b.Write(p)
	})
}

type writeFunc func([]byte) (int, error)

func (f writeFunc) Write(p []byte) (int, error) { return f(p) }

// events counts the trials the search has printed (--events).
func (c *child) events() int {
	<-c.mu
	defer func() { c.mu <- struct{}{} }()
	return strings.Count(c.out.String(), "\n")
}

func (c *child) stderr() string {
	<-c.mu
	defer func() { c.mu <- struct{}{} }()
	return c.err.String()
}

// wait waits for the process to end and fails the test when it ended badly.
func (c *child) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case err := <-c.done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, c.stderr())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not end:\n%s", what, c.stderr())
	}
}

var workerHint = regexp.MustCompile(`cellar worker --nats (\S+) --nats-token-file (\S+)`)

// connectHint waits for an embedded server's hint and returns the URL and the token's
// file.
func connectHint(t *testing.T, search *child) (string, string) {
	t.Helper()
	var m []string
	testkit.WaitFor(t, "the search to print how workers connect", func() bool {
		m = workerHint.FindStringSubmatch(search.stderr())
		return m != nil
	})
	return m[1], m[2]
}

// A token never goes on a command line, where every user reads it (ps): --nats-token
// is refused, saying where a token goes; a token file others can read is refused too.
func TestNATSTokenNeverOnTheCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"worker", "--nats", "nats://127.0.0.1:1", "--nats-token", "s3cret"},
		{"workers", "--nats", "nats://127.0.0.1:1", "--nats-token", "s3cret"},
		{"search", "-c", writeExp(t, "space: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 1}\n"), "--db", filepath.Join(t.TempDir(), "x.db"), "--nats", "nats://127.0.0.1:1", "--nats-token", "s3cret"},
	} {
		if _, err := cellar(t, args...); err == nil || !strings.Contains(err.Error(), "--nats-token-file F") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s --nats-token: %v", args[0], err)
		}
	}
	loose := filepath.Join(t.TempDir(), "token")
	os.WriteFile(loose, []byte("s3cret\n"), 0o644)
	if _, err := cellar(t, "worker", "--nats", "nats://127.0.0.1:1", "--nats-token-file", loose); err == nil || !strings.Contains(err.Error(), "chmod 600 "+loose) {
		t.Errorf("a token file others can read: %v", err)
	}
	// The worker line a search with an embedded server prints reads the token from its
	// file, and the file is the owner's alone.
	search := startChild(t, "search", "-c", writeExp(t, "space: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 100000}\n"),
		"--db", filepath.Join(t.TempDir(), "n.db"), "--no-progress", "--nats", "embedded:"+freePort(t))
	_, file := connectHint(t, search)
	testkit.WaitFor(t, "the search to name its queue's log", func() bool { return strings.Contains(search.stderr(), "logged in ") })
	search.cmd.Process.Signal(syscall.SIGINT)
	<-search.done
	if log := strings.TrimSuffix(file, "token"); !strings.HasSuffix(log, ".nats/") {
		t.Errorf("token file %s is not in the server's folder", file)
	} else if st, err := os.Stat(strings.TrimSuffix(log, "/") + ".log"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("the queue's log beside the DB: %v", err)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 || strings.Contains(search.stderr(), "--nats-token ") {
		t.Errorf("token file %s: %v %v\n%s", file, st.Mode(), err, search.stderr())
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// A search with an embedded NATS server and workers as real processes: a worker
// killed mid-trial loses nothing (its job goes to another after the ack wait), the
// search killed while workers run resumes, reattaches, stores what arrived and ends
// with trials 1..N once each, and the trials are those of the same search run
// in-process.
func TestWorkersOverNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for ack timeouts; runs in the full suite")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "n.db")
	table := testtable.NB201(t, testtable.Smooth)
	src := fmt.Sprintf("name: n\nseed: 5\nspace: nb201\nstrategy: {name: regevo, population: 10, sample: 3}\n"+
		"evaluator: {name: slowtable, path: %s, delay: 1s}\nbudget: {trials: 24}\nparallelism: 3\n"+
		"execution: {nats: {ack_wait: 1s}}\n", table)
	exp := writeExp(t, src)
	addr := freePort(t)
	search := startChild(t, "search", "-c", exp, "--db", db, "--no-progress", "--events", "--nats", "embedded:"+addr)
	url, token := connectHint(t, search)
	w1 := startChild(t, "worker", "--nats", url, "--nats-token-file", token, "--name", "w1", "--parallelism", "2")
	testkit.WaitFor(t, "w1 to take jobs", func() bool { return strings.Contains(w1.stderr(), "worker ready") })
	// w1 dies mid-trial; w2 takes over, its jobs among them.
	testkit.WaitFor(t, "some trials to be stored", func() bool { return search.events() >= 4 })
	w1.cmd.Process.Signal(syscall.SIGKILL)
	w2 := startChild(t, "worker", "--nats", url, "--nats-token-file", token, "--name", "w2", "--parallelism", "2")
	// The search dies while w2 runs; its resume restarts the server (same port,
	// same files, same token), and w2 reconnects.
	testkit.WaitFor(t, "more trials to be stored", func() bool { return search.events() >= 10 })
	// cellar workers lists w2 (and not the dead w1) from their heartbeats.
	var listed string
	testkit.WaitFor(t, "cellar workers to list w2", func() bool {
		listed, _ = cellar(t, "workers", "--nats", url, "--nats-token-file", token, "--wait", "2500ms")
		return strings.Contains(listed, "w2 ")
	})
	if strings.Contains(listed, "w1 ") {
		t.Errorf("cellar workers lists the killed w1:\n%s", listed)
	}
	// The trials take long enough (1 s each, w2 runs two at a time) that the search
	// is still running here; had it ended, its resume below would test nothing (with
	// trials of 150 ms it ended before the listing, and the listing then raced the
	// embedded server's exit for a heartbeat).
	select {
	case err := <-search.done:
		t.Fatalf("the search ended (%v) before it could be killed mid-run, after %d events", err, search.events())
	default:
	}
	search.cmd.Process.Signal(syscall.SIGKILL)
	<-search.done
	resumed := startChild(t, "search", "--resume", "1", "--db", db, "--no-progress", "--nats", "embedded:"+addr)
	resumed.wait(t, "the resumed search")
	trials := storedTrials(t, db)
	if evaluated(trials) != 24 { // and the duplicates of some (dedupe), which cost none
		t.Fatalf("%d trials stored, %d of them evaluated", len(trials), evaluated(trials))
	}
	for i, tr := range trials {
		if tr.ID != uint64(i+1) || tr.State != engine.Done {
			t.Errorf("trial %d: id %d, %s %s", i+1, tr.ID, tr.State, tr.Error)
		}
	}
	w2.cmd.Process.Signal(syscall.SIGTERM)
	// A replay (in-process) of the search through workers matches it.
	if out, err := cellar(t, "replay", "--db", db, "--exp", "1"); err != nil || !strings.Contains(out, fmt.Sprintf("all %d trials match the original", len(trials))) {
		t.Errorf("replay: %v\n%s", err, out)
	}
	// The same search in-process gives the same trials.
	local := filepath.Join(dir, "local.db")
	if out, err := cellar(t, "search", "-c", writeExp(t, strings.NewReplacer("execution: {nats: {ack_wait: 1s}}\n", "", "delay: 1s", "delay: 1ms").Replace(src)), "--db", local, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := storedTrials(t, local)
	if len(want) != len(trials) {
		t.Errorf("%d trials in-process, %d through workers", len(want), len(trials))
	}
	for i := range min(len(want), len(trials)) {
		if want[i].Arch != trials[i].Arch || fmt.Sprint(want[i].Metrics) != fmt.Sprint(trials[i].Metrics) {
			t.Errorf("trial %d: %s %v through workers, %s %v in-process", i+1, trials[i].Arch, trials[i].Metrics, want[i].Arch, want[i].Metrics)
		}
	}
}
