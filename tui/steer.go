package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"

	"cellar/engine"
)

// steerPanel lists the knobs of the running search (strategy settings, limits,
// budget) and edits one at a time. A change goes to the engine, which applies it at
// its next ask and records who made it.
type steerPanel struct {
	cursor  int
	editing bool
	input   textinput.Model
	err     string // why the last value was not taken, shown under the input
}

// steerDone is the engine's answer to a change: err when it was refused.
type steerDone struct {
	knob string
	v    float64
	err  error
}

func newSteerPanel() *steerPanel {
	in := textinput.New()
	in.Prompt = "new value: "
	in.CharLimit = 24
	return &steerPanel{input: in}
}

// move moves the cursor over n knobs.
func (p *steerPanel) move(delta, n int) {
	if n > 0 {
		p.cursor = (p.cursor + delta + n) % n
	}
}

// edit starts editing knob k, from its current value.
func (p *steerPanel) edit(k engine.Knob) {
	p.editing = true
	p.input.SetValue(strconv.FormatFloat(k.Value, 'g', -1, 64))
	p.input.CursorEnd()
	p.input.Focus()
}

// value parses the typed value.
func (p *steerPanel) value(k engine.Knob) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(p.input.Value()), 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", k.Name, p.input.Value())
	}
	return v, nil
}

func (p *steerPanel) View(c *Common, knobs []engine.Knob, steers []engine.Entry, w int) string {
	st := c.Styles
	lines := []string{st.Title.Render("Steer the search"),
		st.Muted.Render("↑/↓ choose, enter to change, esc to close; a change applies at the next ask and is logged")}
	if len(knobs) == 0 {
		lines = append(lines, st.Muted.Render("nothing to steer yet"))
	}
	for i, k := range knobs {
		rng := fmt.Sprintf("%g…%g", k.Min, k.Max)
		line := fmt.Sprintf("%s%-22s %12g   %-16s %s", marker(i == p.cursor), k.Name, k.Value, rng, k.Help)
		if i == p.cursor {
			line = st.Accent.Render(line)
		}
		lines = append(lines, truncate(line, w))
	}
	if p.editing {
		lines = append(lines, "", p.input.View())
		if p.err != "" {
			lines = append(lines, st.Bad.Render(truncate(p.err, w)))
		}
	}
	if len(steers) > 0 {
		lines = append(lines, "", st.Title.Render("Changes in this run"))
		for _, en := range steers[max(0, len(steers)-6):] {
			who := en.Who
			if who == "" {
				who = "-"
			}
			line := fmt.Sprintf("#%-5d %-10s %s %g → %g", en.Trial, who, en.Param, en.Old, en.New)
			if en.Op != engine.OpSteer {
				line = st.Bad.Render(line + " refused: " + en.Arch)
			}
			lines = append(lines, truncate(line, w))
		}
	}
	return strings.Join(lines, "\n")
}
