package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"cellar/engine"
	"cellar/internal/num"
)

// liveLine keeps one status line at the foot of a terminal, below the log lines that
// scroll above it: each write of a log line clears the status first and draws it
// again after, so the two never mix.
type liveLine struct {
	mu   sync.Mutex
	w    io.Writer
	line string
}

// eraseLine is carriage return and erase-line.
const eraseLine = "\r\x1b[K"

func (l *liveLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.line != "" {
		io.WriteString(l.w, eraseLine)
	}
	n, err := l.w.Write(p)
	if l.line != "" {
		io.WriteString(l.w, l.line)
	}
	return n, err
}

// Set draws s as the status line.
func (l *liveLine) Set(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line = s
	io.WriteString(l.w, eraseLine+s)
}

// Close takes the status line away, leaving the log.
func (l *liveLine) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.line != "" {
		io.WriteString(l.w, eraseLine)
	}
	l.line = ""
}

// serveStatus is a served search's one-line progress: state, trials, best, sessions
// and time.
func serveStatus(s engine.Status, objective string, sessions int) string {
	trials := fmt.Sprintf("%d trials", s.Done+s.Failed)
	if b := s.Budget.Trials; b > 0 {
		trials = fmt.Sprintf("%d/%d trials", s.Done+s.Failed, b)
	}
	parts := []string{strings.ToUpper(string(s.State)), trials}
	if s.Best != nil {
		parts = append(parts, fmt.Sprintf("best %s %s (#%d)", objective, num.Plain(s.Best.Metrics[objective]), s.Best.ID))
	}
	parts = append(parts, fmt.Sprintf("%d sessions", sessions), s.Elapsed.Round(time.Second).String())
	return strings.Join(parts, " · ")
}
