package tui

import (
	"cellar/learning"
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"cellar/engine"
	"cellar/internal/num"
)

// steerPanel lists the knobs of the running search (strategy settings, limits,
// budget) and edits one at a time. A change goes to the engine, which applies it at
// its next ask and records who made it.
type steerPanel struct {
	common  *Common
	status  func() engine.Status                 // the search's knobs and changes
	steer   func(knob string, v float64) tea.Cmd // sends a change to the engine
	w       int
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

func newSteerPanel(c *Common, status func() engine.Status, steer func(string, float64) tea.Cmd) *steerPanel {
	in := textinput.New()
	in.Prompt = "new value: "
	in.CharLimit = 24
	return &steerPanel{common: c, status: status, steer: steer, input: in, w: c.Width}
}

func (p *steerPanel) SetSize(w, _ int)          { p.w = w }
func (p *steerPanel) Typing() bool              { return p.editing }
func (p *steerPanel) ShortHelp() []key.Binding  { return p.common.Keys.Steering(p.editing).ShortHelp() }
func (p *steerPanel) FullHelp() [][]key.Binding { return p.common.Keys.Steering(p.editing).FullHelp() }

// Key handles a key: choosing a knob, or typing its new value. A value that is not
// a number, or that the engine refuses, is said at once under the input.
func (p *steerPanel) Key(msg tea.KeyMsg) tea.Cmd {
	k := p.common.Keys
	knobs := p.status().Knobs
	if p.editing {
		switch {
		case key.Matches(msg, k.Back):
			p.editing, p.err = false, ""
		case msg.Type == tea.KeyEnter:
			if p.cursor >= len(knobs) {
				p.editing = false
				return nil
			}
			kn := knobs[p.cursor]
			v, err := p.value(kn)
			if err != nil { // said at once, in the panel; the value stays to be fixed
				p.err = err.Error()
				return nil
			}
			return p.steer(kn.Name, v)
		default:
			var cmd tea.Cmd
			p.input, cmd = p.input.Update(msg)
			return cmd
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Back):
		return back
	case key.Matches(msg, k.Up):
		p.move(-1, len(knobs))
	case key.Matches(msg, k.Down):
		p.move(1, len(knobs))
	case key.Matches(msg, k.Change) && p.cursor < len(knobs):
		p.edit(knobs[p.cursor])
		return textinput.Blink
	}
	return nil
}

// move moves the cursor over n knobs.
func (p *steerPanel) move(delta, n int) {
	if n > 0 {
		p.cursor = (p.cursor + delta + n) % n
	}
}

// edit starts editing knob k, from its current value.
func (p *steerPanel) edit(k learning.Knob) {
	p.editing = true
	p.input.SetValue(strconv.FormatFloat(k.Value, 'g', -1, 64))
	p.input.CursorEnd()
	p.input.Focus()
}

// value parses the typed value.
func (p *steerPanel) value(k learning.Knob) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(p.input.Value()), 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", k.Name, p.input.Value())
	}
	return v, nil
}

func (p *steerPanel) View() string {
	s := p.status()
	knobs, steers, w := s.Knobs, s.Steers, p.w
	st := p.common.Styles
	lines := []string{st.Title.Render("Steer the search"),
		st.Muted.Render(truncate("a change applies at the next ask and is logged (cellar audit)", w))}
	if len(knobs) == 0 {
		lines = append(lines, st.Muted.Render("nothing to steer yet"))
	}
	for i, k := range knobs {
		rng := k.Range() // as a refusal names it
		line := fmt.Sprintf("%s%-22s %8s   %-12s %s", marker(i == p.cursor), k.Name, num.Human(k.Value), rng, k.Help)
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
			line := fmt.Sprintf("#%-5d %-10s %s %s → %s", en.Trial, who, en.Param, num.Plain(en.Old), num.Plain(en.New))
			if en.Op != engine.OpSteer {
				line = st.Bad.Render(line + " refused: " + en.Arch)
			}
			lines = append(lines, truncate(line, w))
		}
	}
	return strings.Join(lines, "\n")
}
