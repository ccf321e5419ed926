package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"cellar/internal/num"
	"cellar/spaces"
)

// Editor changes an architecture by hand, one op or input at a time, or as a whole
// string typed or pasted, checking each result with the space: the architecture is
// valid (and can be queued) or the reason it is not is shown.
type Editor struct {
	common *Common
	space  spaces.Space
	parent uint64
	arch   string
	fields []spaces.Field // the tokens the space says are editable (spaces.Editable)
	// movable are the fields the cursor stops at: those with a change that keeps the
	// arch valid (NB201's inputs have none); all of them when none has.
	movable []int
	cursor  int // an index into fields
	err     error
	params  int
	flops   int64
	queued  bool
	w       int
	// typing: an arch string is being typed or pasted into input.
	typing bool
	input  textinput.Model
	// warned is the arch whose earlier result was shown at the first enter; a second
	// enter queues it anyway.
	warned string

	queue func(a spaces.Arch, parent uint64) tea.Cmd // the root's injection
	seen  func(arch string) (seenTrial, bool)        // archs evaluated before
}

// NewEditor opens an editor on arch (from trial parent) in space.
func NewEditor(space spaces.Space, arch string, parent uint64) *Editor {
	in := textinput.New()
	in.Prompt = "arch: "
	e := &Editor{space: space, parent: parent, arch: arch, input: in, w: 80}
	e.reparse()
	if len(e.movable) > 0 {
		e.cursor = e.movable[0]
	}
	return e
}

// valid says whether arch parses and passes the space's checks.
func (e *Editor) valid(arch string) error {
	a, err := e.space.Parse([]byte(arch))
	if err != nil {
		return err
	}
	return e.space.Validate(a)
}

// reparse finds the fields of the current string, validates it, and finds which
// fields have a valid change.
func (e *Editor) reparse() {
	e.fields, e.movable = nil, nil
	if ed, ok := spaces.Base(e.space).(spaces.Editable); ok {
		e.fields = ed.Fields(e.arch)
	}
	for i, f := range e.fields {
		cur := e.arch[f.Start:f.End]
		for _, c := range f.Choices {
			if c != cur && e.valid(e.arch[:f.Start]+c+e.arch[f.End:]) == nil {
				e.movable = append(e.movable, i)
				break
			}
		}
	}
	if len(e.movable) == 0 {
		for i := range e.fields {
			e.movable = append(e.movable, i)
		}
	}
	e.cursor = min(e.cursor, max(len(e.fields)-1, 0))
	e.err = nil
	a, err := e.space.Parse([]byte(e.arch))
	if err == nil {
		var net *spaces.Net
		if net, err = e.space.Network(a); err == nil {
			e.params, e.flops = net.Params(), net.FLOPs()
		}
	}
	e.err = err
}

// Move moves the cursor by d fields, over those it stops at.
func (e *Editor) Move(d int) {
	n := len(e.movable)
	if n == 0 {
		return
	}
	idx := slices.Index(e.movable, e.cursor)
	if idx < 0 { // the cursor is on a field it no longer stops at: step off it first
		next, _ := slices.BinarySearch(e.movable, e.cursor)
		if idx = next; d > 0 {
			idx = next - 1
		}
	}
	e.cursor = e.movable[((idx+d)%n+n)%n]
}

// Cycle changes the field under the cursor to its next (d=1) or previous (d=-1) value.
func (e *Editor) Cycle(d int) {
	if len(e.fields) == 0 {
		return
	}
	f := e.fields[e.cursor]
	cur := e.arch[f.Start:f.End]
	i := 0
	for j, c := range f.Choices {
		if c == cur {
			i = j
		}
	}
	next := f.Choices[(i+d+len(f.Choices))%len(f.Choices)]
	e.set(e.arch[:f.Start] + next + e.arch[f.End:])
}

// set replaces the arch being edited.
func (e *Editor) set(arch string) {
	e.arch, e.queued, e.warned = arch, false, ""
	e.reparse()
}

// Valid says whether the edited architecture can be queued, and if not, why.
func (e *Editor) Valid() error { return e.err }

// Arch is the edited architecture's string.
func (e *Editor) Arch() string { return e.arch }

func (e *Editor) SetSize(w, _ int) { e.w = w; e.input.Width = max(w-len(e.input.Prompt)-1, 10) }
func (e *Editor) Typing() bool     { return e.typing }

func (e *Editor) ShortHelp() []key.Binding  { return e.common.Keys.Editor(e.typing).ShortHelp() }
func (e *Editor) FullHelp() [][]key.Binding { return e.common.Keys.Editor(e.typing).FullHelp() }

// Key handles the editor's keys. A paste anywhere opens the input with what was
// pasted.
func (e *Editor) Key(msg tea.KeyMsg) tea.Cmd {
	k := e.common.Keys
	if msg.Paste && !e.typing {
		e.typeArch("")
	}
	if e.typing {
		switch {
		case key.Matches(msg, k.Back):
			e.typing = false
		case key.Matches(msg, k.Apply):
			typed := strings.TrimSpace(e.input.Value())
			if a, err := e.space.Parse([]byte(typed)); err == nil {
				typed = a.String() // the canonical form
			}
			e.typing = false
			e.set(typed) // an invalid string stays, with its reason, to be fixed
		default:
			var cmd tea.Cmd
			e.input, cmd = e.input.Update(msg)
			return cmd
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Back):
		return back
	case key.Matches(msg, k.Left):
		e.Move(-1)
	case key.Matches(msg, k.Right):
		e.Move(1)
	case key.Matches(msg, k.Up):
		e.Cycle(1)
	case key.Matches(msg, k.Down):
		e.Cycle(-1)
	case key.Matches(msg, k.TypeArch):
		e.typeArch(e.arch)
		return textinput.Blink
	case key.Matches(msg, k.Queue):
		return e.queueArch()
	}
	return nil
}

// typeArch opens the input on s.
func (e *Editor) typeArch(s string) {
	e.typing = true
	e.input.SetValue(s)
	e.input.CursorEnd()
	e.input.Focus()
}

// queueArch queues the arch as a hand trial; one evaluated before is shown with its
// result first, and queued at a second enter.
func (e *Editor) queueArch() tea.Cmd {
	if err := e.Valid(); err != nil {
		return noticeCmd("not queued: " + err.Error())
	}
	a, err := e.space.Parse([]byte(e.arch))
	if err != nil {
		return noticeCmd("not queued: " + err.Error())
	}
	if e.seen != nil && e.warned != a.String() {
		if t, ok := e.seen(a.String()); ok {
			e.warned = a.String()
			return noticeCmd(fmt.Sprintf("already evaluated as trial %d (%s); enter again to queue it anyway", t.id, seenResult(t)))
		}
	}
	e.queued, e.warned = true, ""
	return e.queue(a, e.parent)
}

// seenResult is a trial's result as the editor's warning says it.
func seenResult(t seenTrial) string {
	if !t.hasVal {
		return string(t.state)
	}
	return fmt.Sprintf("%s, %s", t.state, num.Human(t.value))
}

func noticeCmd(s string) tea.Cmd { return func() tea.Msg { return noticeMsg(s) } }

// View draws the string with the field under the cursor marked, validity, and size.
func (e *Editor) View() string {
	st, w := e.common.Styles, e.w
	lines := []string{st.Title.Render(truncate(fmt.Sprintf("Edit (from trial %d)", e.parent), w))}
	if e.typing {
		lines = append(lines, e.input.View())
	} else {
		lines = append(lines, e.archLine(w)...)
	}
	if e.err != nil {
		lines = append(lines, st.Bad.Render(truncate("invalid: "+e.err.Error(), w)))
	} else {
		lines = append(lines, st.Good.Render(truncate(fmt.Sprintf("valid: %s params, %s FLOPs", num.Human(float64(e.params)), num.Human(float64(e.flops))), w)))
	}
	if e.queued {
		lines = append(lines, st.Accent.Render("queued as a hand trial"))
	}
	if e.err == nil {
		lines = append(lines, "", archDiagram(e.common, "Architecture", e.space, e.arch, w))
	}
	return strings.Join(lines, "\n")
}

// archLine is the arch string with the field under the cursor marked, wrapped at the
// width so that the field being edited is always in sight.
func (e *Editor) archLine(w int) []string {
	s, at, end := e.arch, -1, -1
	if len(e.fields) > 0 {
		f := e.fields[e.cursor]
		s = e.arch[:f.Start] + "[" + e.arch[f.Start:f.End] + "]" + e.arch[f.End:] // brackets: visible without colour
		at, end = f.Start, f.End+2
	}
	st := e.common.Styles
	w = max(w, 10)
	var out []string
	for from := 0; from < len(s); from += w {
		to := min(from+w, len(s))
		seg := ""
		for i := from; i < to; {
			j := i
			in := i >= at && i < end
			for j < to && (j >= at && j < end) == in {
				j++
			}
			if in {
				seg += st.Selected.Render(s[i:j])
			} else {
				seg += st.Text.Render(s[i:j])
			}
			i = j
		}
		out = append(out, seg)
	}
	return out
}
