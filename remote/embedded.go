package remote

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Embedded is a NATS server with JetStream inside the search's process: workers
// connect to it, with its token.
type Embedded struct {
	Server *server.Server
	URL    string // nats://HOST:PORT, for this machine
	// Advertise is the URL for other machines: on 0.0.0.0 (every interface) the
	// host's name instead of the address.
	Advertise string
	Token     string
	TokenFile string // where the token is kept (mode 0600): what a worker reads it from
}

// StartEmbedded starts a NATS server on addr (HOST:PORT; 127.0.0.1:4222 when empty)
// with JetStream in a file store under dir, and a token that workers must give: the
// one kept in dir/token, made at the first start. It never listens without auth.
func StartEmbedded(addr, dir string) (*Embedded, error) {
	if addr == "" {
		addr = "127.0.0.1:4222"
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded address %q: a port number", addr)
	}
	if port == 0 {
		port = -1 // any free port
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	token, err := keptToken(filepath.Join(dir, "token"))
	if err != nil {
		return nil, err
	}
	s, err := server.NewServer(&server.Options{Host: host, Port: port, JetStream: true, StoreDir: filepath.Join(dir, "jetstream"),
		Authorization: token, NoSigs: true, ServerName: "cellar"})
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("nats: the embedded server did not start on %s (is the port taken?)", addr)
	}
	e := &Embedded{Server: s, URL: s.ClientURL(), Advertise: s.ClientURL(), Token: token, TokenFile: filepath.Join(dir, "token")}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		port := s.Addr().(*net.TCPAddr).Port
		e.URL = fmt.Sprintf("nats://127.0.0.1:%d", port)
		if name, err := os.Hostname(); err == nil {
			e.Advertise = fmt.Sprintf("nats://%s:%d", name, port)
		}
	}
	return e, nil
}

// keptToken reads the token at path, or makes one and keeps it there (mode 0600).
func keptToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	t := hex.EncodeToString(raw)
	return t, os.WriteFile(path, []byte(t+"\n"), 0o600)
}

// ReadToken reads a token kept in a file, as a worker gives it: the file must be
// readable by its owner alone (mode 0600 or stricter), as ssh wants of a private key,
// since the token lets anyone who has it put jobs on the queue.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return "", fmt.Errorf("token file %s can be read by others (mode %#o): chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("token file %s: %w", path, err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return t, nil
}

// Shutdown stops the server.
func (e *Embedded) Shutdown() {
	e.Server.Shutdown()
	e.Server.WaitForShutdown()
}

// Connect connects to url with a token or a credentials file (either may be empty),
// reconnecting for ever: a server restarted mid-search is found again.
func Connect(url, token, creds, name string) (*nats.Conn, error) {
	return connect(url, token, creds, name)
}

// ConnectWaiting is Connect for a worker, which may start before its server: while
// the server cannot be reached (or refuses it), it tries again every second, telling
// failed what went wrong each time, instead of failing.
func ConnectWaiting(url, token, creds, name string, failed func(error)) (*nats.Conn, error) {
	return connect(url, token, creds, name, nats.RetryOnFailedConnect(true), nats.ReconnectWait(time.Second),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { failed(err) }))
}

func connect(url, token, creds, name string, more ...nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond)}
	opts = append(opts, more...)
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", url, err)
	}
	return nc, nil
}
