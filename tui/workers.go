package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Worker is a machine that evaluates the search's trials (cellar worker), as its last
// heartbeat described it.
type Worker struct {
	Name, Host string
	Slots      int
	Running    []string // the trials it runs
	Seen       time.Time
}

// lostAfter is how long a worker may go without a heartbeat (one every 2s) before the
// dashboard calls it lost.
const lostAfter = 10 * time.Second

// workersPanel is the workers' lines: name, host, slots, what each runs and when it
// was last heard of; a silent one is marked lost.
func workersPanel(c *Common, workers []Worker, now time.Time, w int) string {
	st := c.Styles
	sort.Slice(workers, func(i, j int) bool { return workers[i].Name < workers[j].Name })
	lines := []string{st.Title.Render(fmt.Sprintf("Workers (%d)", len(workers)))}
	for _, wk := range workers {
		ago := now.Sub(wk.Seen)
		running := "idle"
		if len(wk.Running) > 0 {
			running = "running " + strings.Join(wk.Running, " ")
		}
		line := fmt.Sprintf("%-16s %-14s %d slots  %-24s %4.1fs ago", truncate(wk.Name, 16), truncate(wk.Host, 14), wk.Slots, running, ago.Seconds())
		if ago > lostAfter {
			lines = append(lines, st.Bad.Render(truncate(line+"  LOST", w)))
			continue
		}
		lines = append(lines, st.Text.Render(truncate(line, w)))
	}
	if len(workers) == 0 {
		lines = append(lines, st.Muted.Render("none has said a word yet (cellar worker --nats URL)"))
	}
	return strings.Join(lines, "\n")
}
