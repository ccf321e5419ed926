package serve

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"

	"cellar/engine"
	"cellar/themes"
	"cellar/tui"
)

// sessions serves the workbench to every SSH session with a terminal: a program
// of its own per session on the one engine. session admits a session and says what it
// may do (false refuses it, having told the user why); a session without a terminal
// is passed on to the next middleware. The program's subscription ends with the
// session, however the session ends.
func sessions(eng tui.Engine, exp *engine.Experiment, theme themes.Theme, session func(ssh.Session) (tui.SessionOptions, bool)) wish.Middleware {
	return bm.MiddlewareWithProgramHandler(func(sess ssh.Session) *tea.Program {
		if _, _, pty := sess.Pty(); !pty {
			return nil
		}
		opts, ok := session(sess)
		if !ok {
			return nil
		}
		m := tui.NewSession(eng, exp, theme, sshRenderer(sess), opts)
		go func() {
			<-sess.Context().Done()
			m.Close()
		}()
		return tea.NewProgram(m, append(bm.MakeOptions(sess), tea.WithAltScreen())...)
	}, termenv.ANSI256)
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
