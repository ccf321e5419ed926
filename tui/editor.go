package tui

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"cellar/spaces"
)

// field is one editable token of an architecture's string form: an op, an input, or a
// stage setting, with the values it may take.
type field struct {
	start, end int      // byte range of the value in the string
	choices    []string // the values to cycle through
}

var (
	cellEdgeRE     = regexp.MustCompile(`([a-z0-9_]+)~(\d+)`)
	networkFieldRE = regexp.MustCompile(`(conv|bottleneck|mbconv)|([dwke])=(\d+)`)
)

// Editor changes an architecture by hand, one op or input at a time, checking each
// result with the space: the architecture is valid (and can be queued) or the reason
// it is not is shown.
type Editor struct {
	space   spaces.Space
	parent  uint64
	arch    string
	fields  []field
	cursor  int
	err     error
	params  int
	flops   int64
	queued  bool
	opNames []string
}

// NewEditor opens an editor on arch (from trial parent) in space.
func NewEditor(space spaces.Space, arch string, parent uint64) *Editor {
	e := &Editor{space: space, parent: parent, arch: arch}
	switch spaces.Base(space).(type) {
	case *spaces.NB201:
		e.opNames = spaces.NB201Ops
	case *spaces.Cell:
		e.opNames = spaces.CellOps
	}
	e.reparse()
	return e
}

// reparse finds the fields of the current string and validates it.
func (e *Editor) reparse() {
	e.fields = e.fields[:0]
	if e.opNames != nil {
		for _, m := range cellEdgeRE.FindAllStringSubmatchIndex(e.arch, -1) {
			e.fields = append(e.fields, field{start: m[2], end: m[3], choices: e.opNames})
			e.fields = append(e.fields, field{start: m[4], end: m[5], choices: numbers(0, 9)})
		}
	} else {
		for _, m := range networkFieldRE.FindAllStringSubmatchIndex(e.arch, -1) {
			if m[2] >= 0 {
				e.fields = append(e.fields, field{start: m[2], end: m[3], choices: spaces.NetworkBlocks})
				continue
			}
			var ch []string
			switch e.arch[m[4]:m[5]] {
			case "d":
				ch = numbers(1, 10)
			case "w":
				ch = ints(spaces.NetworkWidths)
			case "k":
				ch = ints(spaces.NetworkKernels)
			case "e":
				ch = ints(spaces.NetworkExpansions)
			}
			e.fields = append(e.fields, field{start: m[6], end: m[7], choices: ch})
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

func numbers(lo, hi int) []string {
	var out []string
	for i := lo; i <= hi; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func ints(v []int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return out
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
	cur := e.arch[f.start:f.end]
	i := 0
	for j, c := range f.choices {
		if c == cur {
			i = j
		}
	}
	next := f.choices[(i+d+len(f.choices))%len(f.choices)]
	e.arch = e.arch[:f.start] + next + e.arch[f.end:]
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
		sb.WriteString(st.Text.Render(e.arch[:f.start]))
		sb.WriteString(st.Selected.Render("[" + e.arch[f.start:f.end] + "]")) // brackets: visible without colour
		at = f.end
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
