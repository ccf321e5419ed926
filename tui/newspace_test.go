package tui

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"cellar/spaces"
	"cellar/themes"
)

// pair is a space no part of cellar knows: two nodes, each with one op from its
// input. It implements the optional interfaces, and the TUI draws and edits it with
// no edit outside this file.
type pair struct{}

type pairArch [2]string // the op into node 1 and into node 2

var pairOps = []string{"conv", "pool", "skip"}

func (a pairArch) String() string { return fmt.Sprintf("1<%s~0 2<%s~1", a[0], a[1]) }

func (a pairArch) Diagram() spaces.Diagram {
	return spaces.Diagram{Notes: []string{"a pair of nodes"}, Cells: []spaces.CellGraph{{Inputs: 1, Nodes: [][]spaces.GraphEdge{{{From: 0, Op: a[0]}}, {{From: 1, Op: a[1]}}}}}}
}

var pairRE = regexp.MustCompile(`^1<(\w+)~0 2<(\w+)~1$`)

func (pair) Name() string { return "pair" }
func (pair) Sample(rng *rand.Rand) spaces.Arch {
	return pairArch{pairOps[rng.IntN(3)], pairOps[rng.IntN(3)]}
}
func (p pair) Mutate(a spaces.Arch, rng *rand.Rand) spaces.Arch { return p.Sample(rng) }
func (pair) Neighbours(a spaces.Arch) []spaces.Arch             { return nil }
func (pair) Encode(a spaces.Arch) []float64                     { return []float64{0, 0} }
func (pair) Validate(a spaces.Arch) error                       { return nil }

func (pair) Parse(b []byte) (spaces.Arch, error) {
	m := pairRE.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("pair arch: %q is not of the form 1<op~0 2<op~1", b)
	}
	for _, op := range m[1:] {
		if !strings.Contains(strings.Join(pairOps, " "), string(op)) {
			return nil, fmt.Errorf("pair arch: no op %q", op)
		}
	}
	return pairArch{string(m[1]), string(m[2])}, nil
}

func (pair) Network(a spaces.Arch) (*spaces.Net, error) {
	nb := spaces.NewNetBuilder(spaces.Shape{C: 1, H: 8, W: 8})
	out := 0
	for _, op := range a.(pairArch) {
		if op == "conv" {
			out = nb.Add(spaces.Layer{Kind: spaces.Conv, Inputs: []int{out}, OutC: 1, Kernel: 3, Stride: 1, Pad: 1, Dilation: 1, Groups: 1})
		}
	}
	return nb.Finish(out)
}

// Fields: each op (the inputs are fixed).
func (pair) Fields(arch string) []spaces.Field {
	var out []spaces.Field
	for _, m := range regexp.MustCompile(`<(\w+)~`).FindAllStringSubmatchIndex(arch, -1) {
		out = append(out, spaces.Field{Start: m[2], End: m[3], Choices: pairOps})
	}
	return out
}

func TestANewSpaceIsDrawnAndEdited(t *testing.T) {
	c := &Common{Theme: themes.Dark, Styles: themes.Dark.For(plain()), Keys: DefaultKeys(), Width: 80, Height: 24}
	view := archDiagram(c, "Best architecture", pair{}, "1<conv~0 2<pool~1", 60)
	for _, want := range []string{"a pair of nodes", "conv", "pool"} {
		if !strings.Contains(view, want) {
			t.Fatalf("the diagram lacks %q:\n%s", want, view)
		}
	}
	e := NewEditor(pair{}, "1<conv~0 2<pool~1", 7)
	if len(e.fields) != 2 {
		t.Fatalf("the editor found %d fields, want 2 (the ops)", len(e.fields))
	}
	e.Move(1)
	e.Cycle(1) // pool -> skip
	if e.arch != "1<conv~0 2<skip~1" || e.err != nil {
		t.Fatalf("after editing: %q (%v)", e.arch, e.err)
	}
	if e.params == 0 {
		t.Fatal("the editor did not measure the edited network")
	}
}
