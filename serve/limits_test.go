package serve

import (
	"bufio"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"cellar/internal/testkit"
)

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	return len(ents)
}

// closedByServer says the server closed c: a read returns EOF or a reset.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // the server's version line
		}
		ne, ok := err.(net.Error)
		return !ok || !ne.Timeout()
	}
}

func TestConnectionsThatNeverHandshakeAreClosed(t *testing.T) {
	r := startRigWith(t, func(o *Options) { o.Limits.Handshake = 300 * time.Millisecond })
	before := openFiles(t)
	var conns []net.Conn
	for range 30 {
		c, err := net.Dial("tcp", r.srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// The server took each one: it sent its version line.
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
			t.Fatalf("connection %d: no server version line (%q, %v)", i, line, err)
		}
	}
	testkit.WaitFor(t, "the server closes connections that never start the handshake", func() bool { return r.srv.Conns() == 0 })
	for i, c := range conns {
		if !closedByServer(c) {
			t.Fatalf("connection %d is still open", i)
		}
		c.Close()
	}
	testkit.WaitFor(t, "open files return to where they were", func() bool { return openFiles(t) <= before })
	// A client that does handshake in time still gets in.
	tm := r.open(t, r.viewer)
	tm.waitFor(t, "served", 0)
}

func TestConnectionLimit(t *testing.T) {
	r := startRigWith(t, func(o *Options) { o.Limits.Conns = 3 })
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", r.srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	testkit.WaitFor(t, "three connections held", func() bool { return r.srv.Conns() == 3 })
	if c, err := r.dial(gossh.PublicKeys(r.operator)); err == nil {
		c.Close()
		t.Fatal("a fourth connection was let in over the limit of 3")
	}
	for _, c := range held {
		c.Close()
	}
	testkit.WaitFor(t, "the held connections are gone", func() bool { return r.srv.Conns() == 0 })
	c, err := r.dial(gossh.PublicKeys(r.operator))
	if err != nil {
		t.Fatalf("below the limit again, a client is refused: %v", err)
	}
	c.Close()
}

func TestRefusedKeysShutTheAddressOut(t *testing.T) {
	r := startRigWith(t, func(o *Options) { o.Limits.FailedAuth = 4 })
	stranger := newSigner(t)
	for i := range 4 {
		if c, err := r.dial(gossh.PublicKeys(stranger)); err == nil {
			c.Close()
			t.Fatalf("attempt %d: an unknown key got in", i+1)
		}
	}
	// Now even an authorized key is refused from this address, at once.
	c, err := r.dial(gossh.PublicKeys(r.operator))
	if err == nil {
		c.Close()
		t.Fatal("after 4 refused keys the address still gets in")
	}
	// Another address (the window has not passed) is not shut out.
	if f := r.srv.failures; f.blocked("127.0.0.2") || !f.blocked("127.0.0.1") {
		t.Fatalf("blocked: 127.0.0.1 %v, 127.0.0.2 %v", f.blocked("127.0.0.1"), f.blocked("127.0.0.2"))
	}
}

func TestFailuresExpireAfterTheWindow(t *testing.T) {
	f := newFailures(2, time.Minute)
	now := time.Unix(1000, 0)
	f.now = func() time.Time { return now }
	f.add("a")
	f.add("a")
	if !f.blocked("a") || f.blocked("b") {
		t.Fatal("two failures within the window should shut a out, and only a")
	}
	now = now.Add(time.Minute)
	if f.blocked("a") || len(f.by) != 0 {
		t.Fatalf("after the window: blocked %v, %d entries kept", f.blocked("a"), len(f.by))
	}
}

func TestAPanicEndsOnlyItsSession(t *testing.T) {
	var sessions atomic.Int64
	r := startRigWith(t, func(o *Options) {
		o.beforeSession = func() {
			if sessions.Add(1) == 1 {
				panic("a bug in the first session")
			}
		}
	})
	first := r.open(t, r.viewer)
	select {
	case <-first.closed:
	case <-time.After(20 * time.Second):
		t.Fatal("the panicking session was not ended")
	}
	second := r.open(t, r.viewer)
	second.waitFor(t, "served", 0)
	if strings.Contains(second.text(), "panic") {
		t.Fatal("the second session shows the first one's panic")
	}
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	r := startRigWith(t, func(o *Options) { o.Limits.Idle = 300 * time.Millisecond })
	// Authenticated, then silent: no session, no traffic either way.
	c, err := r.dial(gossh.PublicKeys(r.viewer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("an idle connection was never closed")
	}
	testkit.WaitFor(t, "the server lets go of it", func() bool { return r.srv.Conns() == 0 })
}

func TestDefaultLimits(t *testing.T) {
	l := Limits{}.withDefaults()
	if l.Handshake != 10*time.Second || l.Idle != 30*time.Minute || l.Conns != 32 || l.FailedAuth != 20 || l.FailWindow != 5*time.Minute {
		t.Fatalf("defaults %+v", l)
	}
}
