package serve

import (
	"context"
	"errors"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	charmlog "github.com/charmbracelet/log"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"

	"cellar/engine"
	"cellar/themes"
	"cellar/tui"
)

// The window a session may claim: a client's window-change of 1,000,000 columns would
// otherwise have every chart drawn that wide. Larger claims are clamped, not refused.
const (
	maxWidth  = 1000
	maxHeight = 500
)

// sessions serves the workbench to every SSH session with a terminal: a program of
// its own per session on the one engine. session admits a session and says what it
// may do (false refuses it, having told the user why); a session without a terminal
// is passed on to the next middleware. The program ends with the connection, however
// the client behaves.
func sessions(eng tui.Engine, exp *engine.Experiment, theme themes.Theme, session func(ssh.Session) (tui.SessionOptions, bool)) wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) {
			_, windows, pty := sess.Pty()
			if !pty {
				next(sess)
				return
			}
			opts, ok := session(sess)
			if !ok {
				next(sess)
				return
			}
			m := tui.NewSession(eng, exp, theme, sshRenderer(sess), opts)
			defer m.Close()
			p := tea.NewProgram(m, append(bm.MakeOptions(sess), tea.WithAltScreen())...)
			ctx, cancel := context.WithCancel(sess.Context())
			defer cancel()
			go resizes(ctx, windows, p)
			go func() {
				<-ctx.Done() // the connection ended (or the program did): so does the program
				p.Kill()
			}()
			if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
				charmlog.Debug("session program ended", "err", err)
			}
			next(sess)
		}
	}
}

// resizes hands the program the session's window changes, clamped, until ctx ends. It
// always takes a change at once, keeping only the latest: the SSH connection's read
// loop waits on a change taken, so a program that is slow to take one (its output
// blocked on a client that does not read) must never hold the connection up, or the
// connection could not even see its own end.
func resizes(ctx context.Context, windows <-chan ssh.Window, p *tea.Program) {
	var (
		mu     sync.Mutex
		latest tea.WindowSizeMsg
	)
	changed := make(chan struct{}, 1)
	go func() { // the delivery, which may wait on the program
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
				mu.Lock()
				w := latest
				mu.Unlock()
				p.Send(w) // returns when the program is killed
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-windows:
			if !ok {
				return
			}
			mu.Lock()
			latest = clampWindow(w)
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default: // a delivery is due already; it takes the latest
			}
		}
	}
}

// clampWindow is a window change as the program may take it: 1x1 to maxWidth x
// maxHeight.
func clampWindow(w ssh.Window) tea.WindowSizeMsg {
	return tea.WindowSizeMsg{Width: min(max(w.Width, 1), maxWidth), Height: min(max(w.Height, 1), maxHeight)}
}

// sshRenderer draws for the session's terminal, with the colours its TERM says it
// has. Unlike wish's MakeRenderer it does not ask the terminal for its background
// colour: the theme is chosen by flag, and a terminal that never answers would hold
// the session up.
func sshRenderer(sess ssh.Session) *lipgloss.Renderer {
	pty, _, _ := sess.Pty()
	env := environ(append(sess.Environ(), "TERM="+pty.Term))
	return lipgloss.NewRenderer(sess, termenv.WithEnvironment(env), termenv.WithUnsafe(), termenv.WithColorCache(true))
}

// environ is a session's environment as termenv reads it.
type environ []string

func (e environ) Environ() []string { return e }

func (e environ) Getenv(k string) string {
	for i := len(e) - 1; i >= 0; i-- { // the last setting wins, as TERM is appended
		if v, ok := strings.CutPrefix(e[i], k+"="); ok {
			return v
		}
	}
	return ""
}
