package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	charmlog "github.com/charmbracelet/log"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/activeterm"
	rm "github.com/charmbracelet/wish/recover"
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
	// KeysPath is the file Keys were read from, for the hints printed.
	KeysPath string
	Keys     Keys
	Engine   tui.Engine
	Exp      *engine.Experiment
	Theme    themes.Theme
	// Stop stops the search; operators call it with X X.
	Stop func()
	// History gives each session the trials finished before it joined.
	History func() ([]engine.Trial, uint64, error)
	// DB is the search's DB, which sessions browse (b).
	DB *storage.DB
	// Workers, when the search's trials run on workers, are those heard of lately.
	Workers func() []tui.Worker
	Log     *slog.Logger
	// Limits bound what clients can hold of the server; zero fields take defaults.
	Limits Limits
	// beforeSession, when set (tests), runs as a session starts, inside the
	// recovery middleware.
	beforeSession func()
}

// Limits bound what clients can take of a server (soft-serve's are the model): a
// connection that does not finish its handshake, one that stays silent, more
// connections than a search needs, and an address that keeps offering refused keys.
type Limits struct {
	Handshake time.Duration // to finish the handshake and authenticate (default 10s)
	Idle      time.Duration // a connection with no traffic either way is closed (default 30m)
	Conns     int           // connections at once (default 32)
	// FailedAuth refused keys from one address within FailWindow shut that address
	// out until FailWindow has passed since its first refusal (default 20 in 5m).
	FailedAuth int
	FailWindow time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Handshake, 10*time.Second)
	def(&l.Idle, 30*time.Minute)
	def(&l.FailWindow, 5*time.Minute)
	if l.Conns <= 0 {
		l.Conns = 32
	}
	if l.FailedAuth <= 0 {
		l.FailedAuth = 20
	}
	return l
}

// Server is the SSH server of one running search.
type Server struct {
	opts      Options
	srv       *ssh.Server
	ln        net.Listener
	sessions  atomic.Int64
	conns     atomic.Int64
	closed    atomic.Bool
	wg        sync.WaitGroup // sessions still running their program
	failures  *failures
	releasing atomic.Bool
}

// New builds the server. The host key at opts.HostKey is read, or generated and
// written when no file is there; a file that is there but unreadable is an error,
// never silently replaced, as clients pin the key.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	// wish's bubbletea middleware logs through charmbracelet/log's default logger, in
	// a format of its own, and calls a session that ends on Ctrl-C an error: its lines
	// go into the server's log, at debug level, so the server has one log format.
	charmlog.SetDefault(charmlog.NewWithOptions(slogWriter{opts.Log}, charmlog.Options{Formatter: charmlog.LogfmtFormatter}))
	if len(opts.Keys) == 0 {
		return nil, errors.New("serve: no authorized keys")
	}
	if _, err := os.Stat(opts.HostKey); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("host key %s: %w", opts.HostKey, err)
	}
	opts.Limits = opts.Limits.withDefaults()
	s := &Server{opts: opts, failures: newFailures(opts.Limits.FailedAuth, opts.Limits.FailWindow)}
	srv, err := wish.NewServer(
		wish.WithAddress(opts.Addr),
		wish.WithHostKeyPath(opts.HostKey),
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithIdleTimeout(opts.Limits.Idle),
		wish.WithMiddleware(
			// Outermost: a panic in one session's handler ends that session only.
			rm.MiddlewareWithLogger(slogPrintf{opts.Log},
				s.tui,
				activeterm.Middleware(), // the TUI needs a terminal: refuse a session without a pty
			),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", opts.HostKey, err)
	}
	srv.ConnCallback = s.admit
	s.srv = srv
	return s, nil
}

// Attach sets the search the sessions show: the server can be built and bound
// before the search is opened, so a server that cannot start leaves no experiment.
func (s *Server) Attach(eng tui.Engine, exp *engine.Experiment, stop func(), history func() ([]engine.Trial, uint64, error), db *storage.DB, workers func() []tui.Worker) {
	s.opts.Engine, s.opts.Exp, s.opts.Stop, s.opts.History, s.opts.DB, s.opts.Workers = eng, exp, stop, history, db, workers
}

// tui runs the workbench for a session, built when the session starts.
func (s *Server) tui(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if s.opts.beforeSession != nil {
			s.opts.beforeSession()
		}
		sessions(s.opts.Engine, s.opts.Exp, s.opts.Theme, s.session)(next)(sess)
	}
}

// admit takes or refuses a new connection before its handshake: an address shut out
// for refused keys, or one connection over the limit, is closed at once. An admitted
// one must finish its handshake within Limits.Handshake.
func (s *Server) admit(ctx ssh.Context, conn net.Conn) net.Conn {
	host := hostOf(conn.RemoteAddr())
	if s.failures.blocked(host) {
		s.opts.Log.Warn("refused connection: too many refused keys", "remote", host)
		return nil
	}
	if n := s.conns.Add(1); n > int64(s.opts.Limits.Conns) {
		s.conns.Add(-1)
		s.opts.Log.Warn("refused connection: too many connections", "remote", host, "limit", s.opts.Limits.Conns)
		return nil
	}
	handshake := time.AfterFunc(s.opts.Limits.Handshake, func() {
		if ctx.Value(ssh.ContextKeyConn) == nil { // set once the handshake and auth are done
			s.opts.Log.Info("closed connection: no handshake in time", "remote", host, "timeout", s.opts.Limits.Handshake)
			conn.Close()
		}
	})
	go func() {
		<-ctx.Done() // the connection closed
		handshake.Stop()
		s.conns.Add(-1)
	}()
	return conn
}

// Conns is the number of connections open now, handshaking or not.
func (s *Server) Conns() int { return int(s.conns.Load()) }

func hostOf(a net.Addr) string {
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// slogPrintf logs the recover middleware's panics through slog.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, v ...any) {
	l.log.Error("session panicked", "panic", fmt.Sprintf(format, v...))
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
	host := hostOf(ctx.RemoteAddr())
	if s.failures.blocked(host) {
		return false
	}
	_, ok := s.opts.Keys.Lookup(key)
	if !ok {
		s.failures.add(host)
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
		s.releaseMemory()
	}()
	return tui.SessionOptions{Viewer: k.Role == Viewer, Who: who, User: sess.User(), Stop: s.opts.Stop, History: s.history(), DB: s.opts.DB, Workers: s.opts.Workers}, true
}

// history is the session's history function: reading a long history leaves the
// records it decoded behind as garbage (about 1.5 KB a trial), given back to the
// system once the session has folded the trials into its view.
func (s *Server) history() func() ([]engine.Trial, uint64, error) {
	if s.opts.History == nil {
		return nil
	}
	return func() ([]engine.Trial, uint64, error) {
		defer s.releaseMemory()
		return s.opts.History()
	}
}

// releaseMemory gives what closed sessions held (models, renderers, buffers) back to
// the system once their programs have wound down, rather than minutes later when the
// runtime's scavenger gets to it. Sessions closing together share one call.
func (s *Server) releaseMemory() {
	if s.releasing.CompareAndSwap(false, true) {
		time.AfterFunc(time.Second, func() {
			s.releasing.Store(false)
			debug.FreeOSMemory()
		})
	}
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

// slogWriter takes charmbracelet/log's lines into slog, at debug level.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	if line := strings.TrimSpace(string(p)); line != "" {
		w.log.Debug("ssh", "wish", line)
	}
	return len(p), nil
}
