package tui

import (
	"fmt"
	"strings"

	"cellar/spaces"
)

// Editor changes an architecture by hand, one op or input at a time, checking each
// result with the space: the architecture is valid (and can be queued) or the reason
// it is not is shown.
type Editor struct {
	space  spaces.Space
	parent uint64
	arch   string
	fields []spaces.Field // the tokens the space says are editable (spaces.Editable)
	cursor int
	err    error
	params int
	flops  int64
	queued bool
}

// NewEditor opens an editor on arch (from trial parent) in space.
func NewEditor(space spaces.Space, arch string, parent uint64) *Editor {
	e := &Editor{space: space, parent: parent, arch: arch}
	e.reparse()
	return e
}

// reparse finds the fields of the current string and validates it.
func (e *Editor) reparse() {
	e.fields = nil
	if ed, ok := spaces.Base(e.space).(spaces.Editable); ok {
		e.fields = ed.Fields(e.arch)
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

// Move moves the cursor by d fields.
func (e *Editor) Move(d int) {
	if len(e.fields) > 0 {
		e.cursor = (e.cursor + d + len(e.fields)) % len(e.fields)
	}
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
	e.arch = e.arch[:f.Start] + next + e.arch[f.End:]
	e.queued = false
	e.reparse()
}

// Valid says whether the edited architecture can be queued, and if not, why.
func (e *Editor) Valid() error { return e.err }

// Arch is the edited architecture's string.
func (e *Editor) Arch() string { return e.arch }

// View draws the string with the field under the cursor marked, validity, and size.
func (e *Editor) View(c *Common, w int) string {
	st := c.Styles
	lines := []string{st.Title.Render(fmt.Sprintf("Edit (from trial %d): ←/→ field, ↑/↓ value, enter queues, esc back", e.parent))}
	var sb strings.Builder
	at := 0
	if len(e.fields) > 0 {
		f := e.fields[e.cursor]
		sb.WriteString(st.Text.Render(e.arch[:f.Start]))
		sb.WriteString(st.Selected.Render("[" + e.arch[f.Start:f.End] + "]")) // brackets: visible without colour
		at = f.End
	}
	sb.WriteString(st.Text.Render(e.arch[at:]))
	lines = append(lines, sb.String())
	if e.err != nil {
		lines = append(lines, st.Bad.Render(truncate("invalid: "+e.err.Error(), w)))
	} else {
		lines = append(lines, st.Good.Render(fmt.Sprintf("valid: %d params, %d FLOPs", e.params, e.flops)))
	}
	if e.queued {
		lines = append(lines, st.Accent.Render("queued as a hand trial"))
	}
	if e.err == nil {
		lines = append(lines, "", archDiagram(c, "Architecture", e.space, e.arch, w))
	}
	return strings.Join(lines, "\n")
}
