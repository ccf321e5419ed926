package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
	"cellar/storage"
	"cellar/themes"
)

// slowSize is the size evaluator taking a few milliseconds a trial, so that a search
// is still running while the tests connect.
type slowSize struct{ engine.Evaluator }

func (s slowSize) Evaluate(ctx context.Context, job engine.Job, p func(engine.Progress)) (engine.Outcome, error) {
	select {
	case <-ctx.Done():
		return engine.Outcome{}, ctx.Err()
	case <-time.After(3 * time.Millisecond):
	}
	return s.Evaluator.Evaluate(ctx, job, p)
}

// rig is a real search on a real DB file, served on 127.0.0.1 with two keys.
type rig struct {
	srv      *Server
	eng      *engine.Engine
	db       *storage.DB
	x        *storage.Experiment
	operator gossh.Signer
	viewer   gossh.Signer
	stop     func() error // stops server and search; returns the search's error
}

func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func authorizedLine(role string, s gossh.Signer, comment string) string {
	return "role=" + role + " " + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey()))) + " " + comment + "\n"
}

func startRig(t *testing.T) *rig { return startRigWith(t, nil) }

// startRigWith starts a rig whose server options set changes before it is built.
func startRigWith(t *testing.T, set func(*Options)) *rig {
	t.Helper()
	dir := t.TempDir()
	r := &rig{operator: newSigner(t), viewer: newSigner(t)}
	keysPath := filepath.Join(dir, "keys")
	os.WriteFile(keysPath, []byte("# cellar keys\n"+authorizedLine("operator", r.operator, "alice")+authorizedLine("viewer", r.viewer, "bob")), 0o600)
	keys, err := LoadKeys(keysPath)
	if err != nil {
		t.Fatal(err)
	}
	src := []byte("name: served\nseed: 3\nspace: nb201\nstrategy: regevo\nevaluator: slowsize\nbudget: {trials: 1000000}\nparallelism: 2\n")
	cfg, err := engine.ParseConfig(src)
	if err != nil {
		t.Fatal(err)
	}
	evals := evaluators.Builtin()
	evals["slowsize"] = func(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
		return slowSize{evaluators.NewSize(env.Space)}, nil
	}
	exp, err := engine.Build(cfg, src, evals)
	if err != nil {
		t.Fatal(err)
	}
	if r.db, err = storage.Open(filepath.Join(dir, "served.db"), time.Second); err != nil {
		t.Fatal(err)
	}
	if r.x, err = r.db.CreateExperiment(cfg.Name, src); err != nil {
		t.Fatal(err)
	}
	r.eng = engine.New(exp, engine.Options{Store: r.x})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- r.eng.Run(ctx) }()
	history := func() ([]engine.Trial, uint64, error) { return r.x.History(r.eng) }
	opts := Options{Addr: "127.0.0.1:0", HostKey: filepath.Join(dir, "host_ed25519"), Keys: keys,
		Engine: r.eng, Exp: exp, Theme: themes.Dark, Stop: cancel, History: history, DB: r.db}
	if set != nil {
		set(&opts)
	}
	r.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.srv.Serve() }()
	var once sync.Once
	var stopErr error
	r.stop = func() error {
		once.Do(func() {
			shut, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			if err := r.srv.Shutdown(shut); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
			cancel()
			stopErr = <-ran
			r.db.Close()
		})
		return stopErr
	}
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *rig) dial(auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", r.srv.Addr().String(), &gossh.ClientConfig{
		User: "tester", Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
}

// term is an SSH session with a pty whose output is collected, ANSI codes removed.
type term struct {
	client *gossh.Client
	sess   *gossh.Session
	in     io.WriteCloser
	mu     sync.Mutex
	out    bytes.Buffer
	closed chan struct{}
}

func (r *rig) open(t *testing.T, s gossh.Signer) *term {
	t.Helper()
	tm, err := r.connect(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// connect opens a session with a terminal; unlike open, it may run on any goroutine.
func (r *rig) connect(s gossh.Signer) (*term, error) {
	c, err := r.dial(gossh.PublicKeys(s))
	if err != nil {
		return nil, err
	}
	sess, err := c.NewSession()
	if err != nil {
		return nil, err
	}
	if err := sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{}); err != nil {
		return nil, err
	}
	tm := &term{client: c, sess: sess, closed: make(chan struct{})}
	if tm.in, err = sess.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Shell(); err != nil {
		return nil, err
	}
	go func() {
		defer close(tm.closed)
		buf := make([]byte, 4096)
		for {
			n, err := out.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return tm, nil
}

// raw is everything the session has written so far, escape codes and all.
func (tm *term) raw() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// text is everything the session has shown so far, without escape codes.
func (tm *term) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.Strip(tm.out.String())
}

// waitFor waits until the session has shown want (after from bytes of text), and
// fails the test after a generous deadline: this is about behaviour, not speed.
func (tm *term) waitFor(t *testing.T, want string, from int) int {
	t.Helper()
	at, err := tm.await(want, from)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// await is waitFor for any goroutine: it returns what went wrong.
func (tm *term) await(want string, from int) (int, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		txt := tm.text()
		if i := strings.Index(txt[min(from, len(txt)):], want); i >= 0 {
			return from + i + len(want), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the session never showed %q; it showed:\n%s", want, tail(txt, 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(s string, n int) string { return s[max(len(s)-n, 0):] }

func (tm *term) press(t *testing.T, keys string) {
	t.Helper()
	if _, err := tm.in.Write([]byte(keys)); err != nil {
		t.Fatal(err)
	}
}

func (tm *term) close() {
	tm.sess.Close()
	tm.client.Close()
	<-tm.closed
}

func TestUnknownKeyAndPasswordRefused(t *testing.T) {
	r := startRig(t)
	if c, err := r.dial(gossh.PublicKeys(newSigner(t))); err == nil {
		c.Close()
		t.Error("an unknown key was let in")
	} else if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("unknown key: %v", err)
	}
	if c, err := r.dial(gossh.Password("secret")); err == nil {
		c.Close()
		t.Error("password authentication was let in")
	}
	if c, err := r.dial(gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return []string{"x"}, nil })); err == nil {
		c.Close()
		t.Error("keyboard-interactive authentication was let in")
	}
	if n := r.srv.Sessions(); n != 0 {
		t.Errorf("%d sessions after refused logins", n)
	}
}

func TestViewerCannotPause(t *testing.T) {
	r := startRig(t)
	v := r.open(t, r.viewer)
	defer v.close()
	at := v.waitFor(t, "SEARCHING", 0)
	v.waitFor(t, "tester (viewer)", 0)
	v.press(t, "p")
	v.waitFor(t, "only an operator can do that", at)
	v.press(t, "X") // stop, too
	at = v.waitFor(t, "X: only an operator can do that", at)
	// Browsing is for viewers too: the search's own DB, while it writes.
	v.press(t, "b")
	at = v.waitFor(t, "Experiments (1)", at)
	v.press(t, "\r")
	at = v.waitFor(t, "Experiment 1 served:", at)
	// Esc, and once the list is back, esc again: each alone, not the start of a key
	// sequence.
	v.press(t, "\x1b")
	at = v.waitFor(t, "Experiments (1)", at)
	v.press(t, "\x1b")
	v.waitFor(t, "Recent trials", at)
	// The refusals were shown after the keys were handled: a pause would be done.
	if st := r.eng.Snapshot().State; st != engine.Searching {
		t.Errorf("a viewer's p and X left the engine %s", st)
	}
}

// An operator's pause pauses the engine another session watches; both show it, and
// both show the same trial count once the running trials have finished.
func TestOperatorPauseSeenByAllSessions(t *testing.T) {
	r := startRig(t)
	op, v := r.open(t, r.operator), r.open(t, r.viewer)
	defer op.close()
	defer v.close()
	atOp, atV := op.waitFor(t, "SEARCHING", 0), v.waitFor(t, "SEARCHING", 0)
	op.press(t, "p")
	enginetest.WaitState(t, r.eng, engine.Paused)
	op.waitFor(t, "PAUSED", atOp)
	v.waitFor(t, "PAUSED", atV)
	v.waitFor(t, "paused by tester at ", atV) // the viewer sees who paused it
	testkit.WaitFor(t, "the running trials to finish", func() bool { return len(r.eng.Snapshot().Running) == 0 })
	st := r.eng.Snapshot()
	count := fmt.Sprintf(" %d/%d trials", st.Done+st.Failed, st.Budget.Trials)
	op.waitFor(t, count, atOp)
	v.waitFor(t, count, atV)
	// A paused search starts nothing new: after a round trip through the engine's
	// loop (it has been where it starts trials since), none runs or was asked.
	if err := r.eng.Pause(false); err != nil {
		t.Fatal(err)
	}
	if after := r.eng.Snapshot(); after.Done+after.Failed != st.Done+st.Failed || len(after.Running) != 0 || after.Asked != st.Asked {
		t.Errorf("trials went on while paused: %d then %d, %d running", st.Done+st.Failed, after.Done+after.Failed, len(after.Running))
	}
	op.press(t, "p")
	enginetest.WaitState(t, r.eng, engine.Searching)
	// X twice stops the search for everyone.
	op.press(t, "X")
	op.waitFor(t, "press X again", atOp)
	op.press(t, "X")
	enginetest.WaitState(t, r.eng, engine.Stopped)
	v.waitFor(t, "STOPPED", atV)
	v.waitFor(t, "stopped by tester at ", atV)
}

// An operator steers the served search over SSH: the change is applied at the next
// ask, journalled with the SSH user's name, and the viewer cannot steer.
func TestOperatorSteersOverSSH(t *testing.T) {
	r := startRig(t)
	op, v := r.open(t, r.operator), r.open(t, r.viewer)
	defer op.close()
	defer v.close()
	atOp, atV := op.waitFor(t, "SEARCHING", 0), v.waitFor(t, "SEARCHING", 0)
	v.press(t, "s")
	v.waitFor(t, "s: only an operator can do that", atV)
	op.press(t, "s")
	atOp = op.waitFor(t, "Steer the search", atOp)
	op.waitFor(t, "budget.trials", atOp)
	// The first knob is budget.trials: enter, clear, type, enter.
	op.press(t, "\r")
	atOp = op.waitFor(t, "new value: ", atOp)
	op.press(t, strings.Repeat("\x7f", 12)+"5000000\r")
	op.waitFor(t, "budget.trials → 5000000 at the next ask", atOp)
	testkit.WaitFor(t, "the change to be applied", func() bool { return len(r.eng.Snapshot().Steers) > 0 })
	en := r.eng.Snapshot().Steers[0]
	if en.Who != "tester" || en.Param != "budget.trials" || en.Old != 1e6 || en.New != 5e6 {
		t.Errorf("audit entry %+v", en)
	}
	if b := r.eng.Snapshot().Budget.Trials; b != 5000000 {
		t.Errorf("budget %d after steering", b)
	}
}

// Twenty sessions come and go while the search runs: every finished trial is stored,
// and no goroutine is left behind.
func TestSessionsComeAndGo(t *testing.T) {
	r := startRig(t)
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	// A first session warms up what lives for the whole server (e.g. the renderer's
	// lookups), so the baseline counts only the search and the server.
	first := r.open(t, r.viewer)
	first.waitFor(t, "SEARCHING", 0)
	first.close()
	testkit.WaitFor(t, "the first session to end", func() bool { return r.srv.Sessions() == 0 })
	before := settle()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := r.viewer
			if i%2 == 0 {
				s = r.operator
			}
			// t.Error, not t.Fatal: this is not the test's goroutine.
			tm, err := r.connect(s)
			if err != nil {
				t.Errorf("session %d: %v", i, err)
				return
			}
			defer tm.close()
			if _, err := tm.await("SEARCHING", 0); err != nil {
				t.Errorf("session %d: %v", i, err)
				return
			}
			if i%3 == 0 {
				if _, err := tm.in.Write([]byte("q")); err != nil { // leaves; the others just hang up
					t.Errorf("session %d: %v", i, err)
					return
				}
				select {
				case <-tm.closed:
				case <-time.After(testkit.Deadline):
					t.Errorf("session %d: still open after q", i)
				}
			}
		}()
	}
	wg.Wait()
	testkit.WaitFor(t, "every session to end after all hung up", func() bool { return r.srv.Sessions() == 0 })
	if st := r.eng.Snapshot().State; st != engine.Searching {
		t.Fatalf("the search is %s after the sessions left", st)
	}
	// The engine starts and ends a goroutine per trial; allow for those. A session's
	// goroutines end after its connection: wait for them, up to testkit's deadline.
	var after int
	deadline := time.Now().Add(testkit.Deadline)
	for after = settle(); after > before+4 && time.Now().Before(deadline); after = settle() {
		time.Sleep(20 * time.Millisecond)
	}
	if after > before+4 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before the sessions, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	// Stop everything: every trial the engine finished is in the DB, ids 1..N.
	if err := r.stop(); err != nil && err != context.Canceled {
		t.Fatal(err)
	}
	st := r.eng.Snapshot()
	db, err := storage.OpenReadOnly(r.db.Path(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	x, _ := db.Experiment(r.x.ID)
	trials, err := x.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) == 0 || len(trials) != st.Done+st.Failed {
		t.Fatalf("%d trials stored, the engine finished %d", len(trials), st.Done+st.Failed)
	}
	// Ids 1..N, but for trials still running at the stop: a later one may have
	// finished first; the checkpoint keeps those as pending, to run on resume.
	cp, err := x.Checkpoint()
	if err != nil || cp == nil {
		t.Fatalf("checkpoint %v, %v", cp, err)
	}
	pending := map[uint64]bool{}
	for _, p := range cp.Pending {
		pending[p.ID] = true
	}
	stored := map[uint64]bool{}
	for _, tr := range trials {
		stored[tr.ID] = true
		if tr.ID >= cp.NextID {
			t.Fatalf("stored trial %d, but the checkpoint's next id is %d", tr.ID, cp.NextID)
		}
	}
	for id := uint64(1); id < cp.NextID; id++ {
		if !stored[id] && !pending[id] {
			t.Fatalf("trial %d is neither stored nor pending", id)
		}
	}
}

func TestHostKeyKeptAcrossStarts(t *testing.T) {
	r := startRig(t)
	fp := r.srv.HostKeyFingerprint()
	if !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("fingerprint %q", fp)
	}
	path := r.srv.opts.HostKey
	again, err := New(Options{Addr: "127.0.0.1:0", HostKey: path, Keys: r.srv.opts.Keys, Engine: r.eng, Exp: r.srv.opts.Exp, Theme: themes.Dark})
	if err != nil {
		t.Fatal(err)
	}
	if again.HostKeyFingerprint() != fp {
		t.Errorf("host key changed across starts: %s then %s", fp, again.HostKeyFingerprint())
	}
	// A host key file that is there but unreadable is an error, not a new key.
	bad := filepath.Join(t.TempDir(), "host")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := New(Options{Addr: "127.0.0.1:0", HostKey: bad, Keys: r.srv.opts.Keys, Engine: r.eng, Exp: r.srv.opts.Exp}); err == nil {
		t.Error("a corrupt host key file was accepted")
	}
	if raw, _ := os.ReadFile(bad); string(raw) != "not a key" {
		t.Error("a corrupt host key file was overwritten")
	}
}

// The workbench needs a terminal: a session without one is told so, not left hanging.
func TestSessionWithoutTerminalIsTold(t *testing.T) {
	r := startRig(t)
	c, err := r.dial(gossh.PublicKeys(r.viewer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := sess.CombinedOutput("")
	if !strings.Contains(string(out), "Requires an active PTY") {
		t.Errorf("a session without a pty got %q", out)
	}
	for i := 0; r.srv.Sessions() != 0 && i < 1000; i++ {
		time.Sleep(time.Millisecond)
	}
	if n := r.srv.Sessions(); n != 0 {
		t.Errorf("%d sessions counted after a pty-less one", n)
	}
}
