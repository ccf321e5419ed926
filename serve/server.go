package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	gossh "golang.org/x/crypto/ssh"

	"cellar/engine"
	"cellar/storage"
	"cellar/themes"
	"cellar/tui"
)

// Options configure a Server.
type Options struct {
	Addr    string // host:port to listen on
	HostKey string // path of the host's private key; created on first start
	Keys    Keys
	Engine  tui.Engine
	Exp     *engine.Experiment
	Theme   themes.Theme
	// Stop stops the search; operators call it with X X.
	Stop func()
	// History gives each session the trials finished before it joined.
	History func() ([]engine.Trial, uint64, error)
	// DB is the search's DB, which sessions browse (b).
	DB  *storage.DB
	Log *slog.Logger
}

// Server is the SSH server of one running search.
type Server struct {
	opts     Options
	srv      *ssh.Server
	ln       net.Listener
	sessions atomic.Int64
	closed   atomic.Bool
	wg       sync.WaitGroup // sessions still running their program
}

// New builds the server. The host key at opts.HostKey is read, or generated and
// written when no file is there; a file that is there but unreadable is an error,
// never silently replaced, as clients pin the key.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("serve: no authorized keys")
	}
	if _, err := os.Stat(opts.HostKey); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("host key %s: %w", opts.HostKey, err)
	}
	s := &Server{opts: opts}
	srv, err := wish.NewServer(
		wish.WithAddress(opts.Addr),
		wish.WithHostKeyPath(opts.HostKey),
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithMiddleware(
			tui.SSHMiddleware(opts.Engine, opts.Exp, opts.Theme, s.session),
			activeterm.Middleware(), // the TUI needs a terminal: refuse a session without a pty
		),
	)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", opts.HostKey, err)
	}
	s.srv = srv
	return s, nil
}

// HostKeyFingerprint is the SHA256 fingerprint clients see for this server.
func (s *Server) HostKeyFingerprint() string {
	raw, err := os.ReadFile(s.opts.HostKey)
	if err != nil {
		return ""
	}
	signer, err := gossh.ParsePrivateKey(raw)
	if err != nil {
		return ""
	}
	return gossh.FingerprintSHA256(signer.PublicKey())
}

// authorize admits the keys of the file, whatever the user name.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	_, ok := s.opts.Keys.Lookup(key)
	if !ok {
		s.opts.Log.Info("refused key", "user", ctx.User(), "remote", ctx.RemoteAddr().String(), "key", gossh.FingerprintSHA256(key))
	}
	return ok
}

// session admits one session with a terminal to the TUI, with the role of the key
// the user logged in with, and counts it until it ends.
func (s *Server) session(sess ssh.Session) (tui.SessionOptions, bool) {
	k, ok := s.opts.Keys.Lookup(sess.PublicKey())
	if !ok { // cannot happen after authorize, but a session must never default to operator
		wish.Fatalln(sess, "cellar: this key is not authorized")
		return tui.SessionOptions{}, false
	}
	who := fmt.Sprintf("%s (%s)", sess.User(), k.Role)
	n := s.sessions.Add(1)
	s.wg.Add(1)
	s.opts.Log.Info("session", "user", who, "remote", sess.RemoteAddr().String(), "sessions", n)
	go func() {
		<-sess.Context().Done()
		s.opts.Log.Info("session ended", "user", who, "sessions", s.sessions.Add(-1))
		s.wg.Done()
	}()
	return tui.SessionOptions{Viewer: k.Role == Viewer, Who: who, User: sess.User(), Stop: s.opts.Stop, History: s.opts.History, DB: s.opts.DB}, true
}

// Sessions is the number of sessions attached now.
func (s *Server) Sessions() int { return int(s.sessions.Load()) }

// Listen binds the address; Addr then tells the port chosen for ":0".
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	return nil
}

// Addr is the address listened on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts sessions until Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, ssh.ErrServerClosed) && !s.closed.Load() {
		return err
	}
	return nil
}

// Shutdown stops accepting, closes every session's connection and waits for their
// programs to end, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closed.Store(true)
	err := s.srv.Close()
	if errors.Is(err, ssh.ErrServerClosed) {
		err = nil
	}
	// The listener too: Serve may not have handed it to the ssh server yet, and
	// would then accept after Close.
	if s.ln != nil {
		s.ln.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("sessions still ending: %w", ctx.Err()))
	}
	return err
}
