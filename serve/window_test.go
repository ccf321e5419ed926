package serve

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"cellar/internal/testkit"
)

// A viewer's window-change to 100,000 columns is taken as the widest window there
// is: nothing the session draws is wider than maxWidth.
func TestAHugeWindowIsClamped(t *testing.T) {
	r := startRig(t)
	v := r.open(t, r.viewer)
	defer v.close()
	v.waitFor(t, "SEARCHING", 0)
	before := len(v.raw())
	if err := v.sess.WindowChange(300, 100000); err != nil {
		t.Fatal(err)
	}
	// The redraw at the new size: the header's progress bar fills the width.
	testkit.WaitFor(t, "a redraw wider than the first window", func() bool { return widest(v.raw()[before:]) > 100 })
	if w := widest(v.raw()); w > maxWidth {
		t.Errorf("a line %d columns wide; the window is clamped to %d", w, maxWidth)
	}
}

// cursorMoves are the escape sequences that end a run of text on one row (moves,
// erases, modes): not the colours.
var cursorMoves = regexp.MustCompile(`\x1b\[[0-9;?]*[A-HJKSTfhlr]`)

// widest is the widest run of text a terminal's output writes on one row.
func widest(out string) int {
	w := 0
	out = cursorMoves.ReplaceAllString(out, "\n")
	for _, line := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == '\r' }) {
		w = max(w, ansi.StringWidth(line))
	}
	return w
}

// A client that asks for a terminal, never reads, sends window-changes and hangs up
// holds nothing: its session and its connection end, and the server takes new ones.
func TestAClientThatNeverReadsCannotHoldASession(t *testing.T) {
	r := startRig(t)
	for i := range 3 {
		c, err := r.dial(gossh.PublicKeys(r.viewer))
		if err != nil {
			t.Fatal(err)
		}
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.RequestPty("xterm-256color", 500, 1000, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		if _, err := sess.StdoutPipe(); err != nil { // never read
			t.Fatal(err)
		}
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		// The attack's own pace: a window-change every 5 ms, each a full redraw
		// the client never reads, until the SSH window is full.
		for j := range 150 {
			if err := sess.WindowChange(400+j%100, 900+j%100); err != nil {
				break // the server may stop taking them; it must still see the hang-up
			}
			time.Sleep(5 * time.Millisecond)
		}
		c.Close()
		testkit.WaitFor(t, "the session of client "+string(rune('1'+i))+" to end after it hung up", func() bool { return r.srv.Sessions() == 0 })
		testkit.WaitFor(t, "its connection to be closed", func() bool { return r.srv.Conns() == 0 })
	}
	// And the operator still gets in.
	op := r.open(t, r.operator)
	defer op.close()
	op.waitFor(t, "SEARCHING", 0)
}

// Keys that arrive in one write over SSH (a held key; ssh sends what was typed
// together) move the browser's selection as that many presses.
func TestABurstOfKeysOverSSH(t *testing.T) {
	r := startRig(t)
	v := r.open(t, r.viewer)
	defer v.close()
	at := v.waitFor(t, "SEARCHING", 0)
	v.press(t, "b")
	at = v.waitFor(t, "Experiments (1)", at)
	v.press(t, "\r")
	v.waitFor(t, "Experiment 1 served:", at)
	selected := func() string { // the id on the last row drawn with the marker
		text := v.text()
		i := strings.LastIndex(text, "› ")
		if i < 0 {
			return ""
		}
		f := strings.Fields(text[i+len("› "):])
		if len(f) == 0 {
			return ""
		}
		return f[0]
	}
	testkit.WaitFor(t, "a selected trial", func() bool { return selected() != "" })
	first := selected()
	v.press(t, "jjj") // one write
	testkit.WaitFor(t, "the selection to move from trial "+first, func() bool { s := selected(); return s != "" && s != first })
}
