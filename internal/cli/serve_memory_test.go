package cli

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// memory is a process's resident memory in MB, from /proc: all of it (VmRSS), and
// its anonymous part (RssAnon). The rest is the DB file's pages that bbolt has
// mapped and read: the kernel's page cache, shared and dropped under pressure.
type memory struct{ rss, anon float64 }

func memoryOf(t *testing.T, pid int) memory {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	field := func(name string) float64 {
		m := regexp.MustCompile(name + `:\s+(\d+) kB`).FindSubmatch(raw)
		if m == nil {
			t.Skipf("/proc/%d/status has no %s", pid, name)
		}
		kb, _ := strconv.Atoi(string(m[1]))
		return float64(kb) / 1024
	}
	return memory{field("VmRSS"), field("RssAnon")}
}

func (m memory) String() string { return fmt.Sprintf("%.0f MB (%.0f anonymous)", m.rss, m.anon) }

// servedSession is one SSH client with a pty on a served search.
type servedSession struct {
	client *gossh.Client
	mu     sync.Mutex
	out    bytes.Buffer
}

func (s *servedSession) shown(want string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Contains(s.out.String(), want)
}

func openServed(t *testing.T, addr string, signer gossh.Signer) *servedSession {
	t.Helper()
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "m", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sess, _ := c.NewSession()
	sess.RequestPty("xterm", 60, 160, gossh.TerminalModes{})
	out, _ := sess.StdoutPipe()
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	s := &servedSession{client: c}
	go func() {
		buf := make([]byte, 32*1024)
		for {
			n, err := out.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			if s.out.Len() > 1<<20 {
				s.out.Reset()
				s.out.WriteString("FINISHED") // keep the mark once seen
			}
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// TestServeMemoryPerSession serves a finished search of CELLAR_SERVE_TRIALS trials
// (20,000 by default; bench/serve_memory.sh uses 100,000) and measures the server's
// resident memory with 0, 1, 4 and 20 SSH sessions showing it, and after they close.
// Sessions share the stored history; each may add at most 30 MB.
func TestServeMemoryPerSession(t *testing.T) {
	if testing.Short() {
		t.Skip("serves a 20,000-trial search; runs in the full suite")
	}
	n := 20000
	if s := os.Getenv("CELLAR_SERVE_TRIALS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	keys := filepath.Join(dir, "keys")
	os.WriteFile(keys, append([]byte("role=viewer "), gossh.MarshalAuthorizedKey(signer.PublicKey())...), 0o600)
	exp := writeExp(t, fmt.Sprintf("name: mem\nseed: 1\nspace: nb201\nstrategy: {name: regevo, population: 50, sample: 10}\nevaluator: params\nbudget: {trials: %d}\nparallelism: 4\n", n))
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join([]string{"serve", "--ssh", "127.0.0.1:0", "--authorized-keys", keys,
		"--host-key", filepath.Join(dir, "host"), "-c", exp, "--db", filepath.Join(dir, "m.db")}, "\x1f"))
	stderr, _ := child.StderrPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	var addr string
	ended, closed := make(chan struct{}), make(chan int, 64)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := regexp.MustCompile(`msg=serving .*addr=(\S+)`).FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	go func() {
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "search ended") {
				close(ended)
			}
			if os.Getenv("CELLAR_SERVE_LOG") != "" {
				fmt.Println(line)
			}
			if m := regexp.MustCompile(`session ended.*sessions=(\d+)`).FindStringSubmatch(line); m != nil {
				k, _ := strconv.Atoi(m[1])
				closed <- k
			}
		}
	}()
	select {
	case <-ended:
	case <-time.After(5 * time.Minute):
		t.Fatal("the search did not end")
	}
	pid := child.Process.Pid
	// Memory moves for a moment after sessions come or go (the runtime returns
	// freed pages a second after sessions close): read it once that has passed.
	settle := func() memory { time.Sleep(2 * time.Second); return memoryOf(t, pid) }
	// below waits (on a loaded machine the runtime may take longer to give memory
	// back) until the anonymous memory is at most limit MB, or 20 s have passed, and
	// returns the last reading.
	below := func(limit float64) memory {
		m := settle()
		for deadline := time.Now().Add(20 * time.Second); m.anon > limit && time.Now().Before(deadline); {
			time.Sleep(250 * time.Millisecond)
			m = memoryOf(t, pid)
		}
		return m
	}
	base := settle()
	var sessions []*servedSession
	rss := map[int]memory{}
	for _, k := range []int{1, 4, 20} {
		for len(sessions) < k {
			sessions = append(sessions, openServed(t, addr, signer))
		}
		deadline := time.Now().Add(2 * time.Minute)
		for _, s := range sessions {
			for !s.shown("FINISHED") {
				if time.Now().After(deadline) {
					t.Fatalf("a session never showed the finished search")
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		if k == 20 {
			rss[k] = below(rss[1].anon + 19*30)
		} else {
			rss[k] = settle()
		}
	}
	for _, s := range sessions {
		s.client.Close()
	}
	for left := len(sessions); left > 0; {
		select {
		case left = <-closed:
		case <-time.After(time.Minute):
			t.Fatalf("%d sessions never ended", left)
		}
	}
	after := below(base.anon + 30)
	t.Logf("serve memory, %d trials: RSS %v with 0 sessions, %v with 1, %v with 4, %v with 20, %v after they closed (anonymous memory per session: %.1f MB over 4, %.1f over 20)",
		n, base, rss[1], rss[4], rss[20], after, (rss[4].anon-base.anon)/4, (rss[20].anon-base.anon)/20)
	if per := (rss[20].anon - rss[1].anon) / 19; per > 30 {
		t.Errorf("each session after the first adds %.1f MB; at most 30", per)
	}
	if after.anon > base.anon+30 {
		t.Errorf("after the sessions closed the server holds %.0f MB of its own, %.0f more than before them", after.anon, after.anon-base.anon)
	}
}
