package cli

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"cellar/serve"
	"cellar/storage"
)

// `cellar serve` as a real process: a client logs in with a key from the keys file
// and watches the search; SIGTERM closes the session, stores what finished with a
// checkpoint, and exits cleanly; the host key is kept for the next start.
func TestServeShutsDownCleanlyOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, append([]byte("role=operator "), gossh.MarshalAuthorizedKey(signer.PublicKey())...), 0o600)
	exp := writeExp(t, "name: served\nseed: 1\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: 10000000}\n")
	db, hostKey := filepath.Join(dir, "s.db"), filepath.Join(dir, "host")

	var logMu sync.Mutex
	var logLines []string
	args := []string{"serve", "--ssh", "127.0.0.1:0", "--authorized-keys", keys, "--host-key", hostKey, "-c", exp, "--db", db}
	start := func() (*exec.Cmd, string, *bytes.Buffer) {
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join(args, "\x1f"))
		stderr, _ := child.StderrPipe()
		var stdout bytes.Buffer
		child.Stdout = &stdout
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		addr := regexp.MustCompile(`msg=serving .*addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logLines = append(logLines, sc.Text())
			logMu.Unlock()
			if m := addr.FindStringSubmatch(sc.Text()); m != nil {
				go func() { // keep reading the log
					for sc.Scan() {
						logMu.Lock()
						logLines = append(logLines, sc.Text())
						logMu.Unlock()
					}
				}()
				return child, m[1], &stdout
			}
		}
		child.Wait()
		t.Fatalf("cellar serve did not start: %s", stdout.String())
		return nil, "", nil
	}
	var hostKeys []string
	var stored []int // trials stored after each run
	for run := range 2 {
		child, addr, stdout := start()
		client, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
			HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
				hostKeys = append(hostKeys, gossh.FingerprintSHA256(key))
				return nil
			}, Timeout: 10 * time.Second})
		if err != nil {
			child.Process.Kill()
			t.Fatal(err)
		}
		sess, _ := client.NewSession()
		sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{})
		out, _ := sess.StdoutPipe()
		in, _ := sess.StdinPipe()
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		seen := make(chan struct{})
		saw := sync.OnceFunc(func() { close(seen) })
		ended := make(chan struct{})
		go func() {
			defer close(ended)
			var buf bytes.Buffer
			chunk := make([]byte, 4096)
			for {
				n, err := out.Read(chunk)
				buf.Write(chunk[:n])
				if strings.Contains(buf.String(), "SEARCHING") {
					saw()
				}
				if err != nil {
					return
				}
			}
		}()
		select {
		case <-seen:
		case <-time.After(30 * time.Second):
			t.Fatal("the session never showed the search")
		}
		if run == 1 { // the second time the user leaves with Ctrl-C first
			in.Write([]byte{3})
			select {
			case <-ended:
			case <-time.After(30 * time.Second):
				t.Fatal("the session did not end on Ctrl-C")
			}
		}
		if err := child.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ended:
		case <-time.After(30 * time.Second):
			t.Fatal("the session was not closed on SIGTERM")
		}
		if err := child.Wait(); child.ProcessState.ExitCode() != exitTerminated {
			t.Fatalf("cellar serve exited with %v after SIGTERM, want status %d; stdout:\n%s", err, exitTerminated, stdout)
		}
		client.Close()
		// The printed hint is the command the second run is started with, as printed.
		hint := regexp.MustCompile(`continue with\n  cellar (serve [^\n]+)`).FindStringSubmatch(stdout.String())
		if hint == nil {
			t.Fatalf("run %d printed no hint:\n%s", run, stdout.String())
		}
		args = strings.Fields(hint[1])
		d, err := storage.OpenReadOnly(db, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		x, err := d.Experiment(1) // the second run resumed the first's experiment
		if err != nil {
			t.Fatal(err)
		}
		trials, err := x.Trials()
		cp, cpErr := x.Checkpoint()
		d.Close()
		if err != nil || cpErr != nil || cp == nil {
			t.Fatalf("run %d: trials %v, checkpoint %v %v", run, err, cp, cpErr)
		}
		if len(trials) == 0 || cp.Finished {
			t.Fatalf("run %d: %d trials stored, checkpoint finished %v", run, len(trials), cp.Finished)
		}
		for i, tr := range trials {
			if tr.ID != uint64(i+1) || !tr.Final() {
				t.Fatalf("run %d: stored trial %d is %d %s", run, i, tr.ID, tr.State)
			}
		}
		stored = append(stored, len(trials))
	}
	if stored[1] <= stored[0] {
		t.Errorf("the hint's run stored no more trials: %v", stored)
	}
	if len(hostKeys) != 2 || hostKeys[0] != hostKeys[1] {
		t.Errorf("host keys across two starts: %v", hostKeys)
	}
	// One log format: every line of the server's log is slog's (no "ERRO app exit
	// with error" of another logger when a session ends).
	logMu.Lock()
	defer logMu.Unlock()
	for _, l := range logLines {
		if l != "" && !strings.HasPrefix(l, "time=") {
			t.Errorf("a log line in another format: %q", l)
		}
	}
}

func TestServeRefusesBadKeyFiles(t *testing.T) {
	if out, err := cellar(t, "serve", "--db", filepath.Join(t.TempDir(), "x.db")); err == nil || !strings.Contains(out+err.Error(), "--authorized-keys FILE is required") {
		t.Errorf("no keys file: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(bad, []byte("# ok\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFzT4b2u0i5vNUfYl1a3Xh1C2hQW1X8bH8bXk7r1j0cT bob\n"), 0o600)
	if out, err := cellar(t, "serve", "--authorized-keys", bad, "--db", filepath.Join(t.TempDir(), "x.db")); err == nil || !strings.Contains(out+err.Error(), bad+":2: key SHA256:") {
		t.Errorf("a key without a role: %v\n%s", err, out)
	}
}

func TestServeListensOnLoopbackByDefault(t *testing.T) {
	if got := newServeCmd(nil).Flags().Lookup("ssh").DefValue; got != "127.0.0.1:2222" {
		t.Fatalf("--ssh defaults to %q; the server must not open to the network unless asked", got)
	}
	if hint := serveHint("my db.db", 3, serve.Options{Addr: "127.0.0.1:2222", KeysPath: "keys", HostKey: "host"}); hint != "cellar serve --db 'my db.db' --resume 3 --ssh 127.0.0.1:2222 --authorized-keys keys --host-key host" {
		t.Fatalf("resume hint %q", hint)
	}
}
