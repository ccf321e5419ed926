package cli

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cellar/engine"
)

// Log lines scroll above the status line: each clears it and draws it again after,
// and Close leaves the log alone.
func TestLiveLineStaysBelowTheLog(t *testing.T) {
	var out bytes.Buffer
	l := &liveLine{w: &out}
	log := slog.New(slog.NewTextHandler(l, nil))
	log.Info("serving") // no status yet: written as it is
	l.Set("SEARCHING · 3/10 trials")
	log.Info("session opened")
	l.Close()
	want := "time=… level=INFO msg=serving\n" + eraseLine + "SEARCHING · 3/10 trials" + eraseLine + "time=… level=INFO msg=\"session opened\"\n" + "SEARCHING · 3/10 trials" + eraseLine
	got := out.String()
	for _, part := range strings.Split(want, "time=…") {
		if !strings.Contains(got, part) {
			t.Fatalf("output %q lacks %q", got, part)
		}
	}
	if !strings.HasSuffix(got, "\n"+"SEARCHING · 3/10 trials"+eraseLine) {
		t.Errorf("the status is not redrawn after the log line, then cleared: %q", got)
	}
}

func TestServeStatus(t *testing.T) {
	s := engine.Status{State: engine.Searching, Done: 41, Failed: 1, Budget: engine.Budget{Trials: 100}, Elapsed: 83 * time.Second,
		Best: &engine.Trial{ID: 7, Metrics: map[string]float64{"acc": 91.25}}}
	if got, want := serveStatus(s, "acc", 2), "SEARCHING · 42/100 trials · best acc 91.25 (#7) · 2 sessions · 1m23s"; got != want {
		t.Errorf("status %q, want %q", got, want)
	}
}
