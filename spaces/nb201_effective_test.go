package spaces

import "testing"

// Effective is a canonical form: idempotent, kept by every cell it maps to, and it
// merges exactly the cells that differ in edges the output cannot see or in which of
// nodes 1 and 2 is which. 11,155 is the count of those classes over all 15,625 cells,
// found by a separate enumeration (Python, over edge sets rather than op arrays).
func TestNB201Effective(t *testing.T) {
	s, err := NewNB201(DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	parse := func(str string) NB201Arch {
		t.Helper()
		a, err := s.Parse([]byte(str))
		if err != nil {
			t.Fatal(err)
		}
		return a.(NB201Arch)
	}
	classes := map[NB201Arch]int{}
	for _, a := range allNB201Cells() {
		e := a.Effective()
		if e.Effective() != e {
			t.Fatalf("%s: Effective %s is not its own Effective %s", a, e, e.Effective())
		}
		classes[e]++
	}
	if len(classes) != 11155 {
		t.Errorf("%d functions among the 15,625 cells, want 11,155", len(classes))
	}

	for _, c := range []struct {
		name string
		same []string // all one function
		not  string   // another function ("" for none)
	}{
		{"nodes 1 and 2 cannot reach the output: only 0->3 counts",
			[]string{
				"|skip_connect~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|none~2|",
				"|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|none~2|",
				"|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|none~1|none~2|",
				"|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|",
			},
			"|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"},
		{"node 2 cannot reach the output",
			[]string{
				"|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|",
				"|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|none~2|",
			},
			"|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|none~2|"},
		{"nodes 1 and 2 swapped, node 1 dead in one",
			[]string{
				"|nor_conv_1x1~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|skip_connect~2|",
				"|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|none~2|",
			},
			"|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|"},
		{"an edge 1->2 keeps the nodes apart",
			[]string{"|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|"},
			"|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|"},
		{"a zero node's conv still adds its batch norm's bias",
			[]string{"|none~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"},
			"|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"},
	} {
		want := parse(c.same[0]).Effective()
		for _, str := range c.same[1:] {
			if got := parse(str).Effective(); got != want {
				t.Errorf("%s: %s is %s, want %s", c.name, str, got, want)
			}
		}
		if got := parse(c.not).Effective(); got == want {
			t.Errorf("%s: %s is %s too", c.name, c.not, got)
		}
	}
}

// A cell and its Effective have the same LiveParams, over every NB201 cell; where a
// path of edges joins the input to the output, those are the Effective cell's Params:
// the parameters of the edges the output cannot see are what Params counts beyond.
// (Where none does, the output does not depend on the input, and the stem is dead too.)
func TestNB201LiveParamsAreEffectiveParams(t *testing.T) {
	s, err := NewNB201(NB201Options{Options: CIFAR, Channels: 4, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	dead := 0
	for _, a := range allNB201Cells() {
		net, err := s.Network(a)
		if err != nil {
			t.Fatal(err)
		}
		e := a.Effective()
		eff, err := s.Network(e)
		if err != nil {
			t.Fatal(err)
		}
		if net.LiveParams() != eff.LiveParams() {
			t.Fatalf("%s: LiveParams %d, its Effective %s's %d", a, net.LiveParams(), e, eff.LiveParams())
		}
		// Node j is reached from the input through edges that are not none.
		reached := [4]bool{true}
		for i, edge := range nb201Edges {
			if e[i] != 0 && reached[edge[1]] {
				reached[edge[0]] = true
			}
		}
		if reached[3] && eff.LiveParams() != eff.Params() {
			t.Fatalf("%s: its Effective %s has Params %d, LiveParams %d", a, e, eff.Params(), eff.LiveParams())
		}
		if net.Params() > eff.Params() {
			dead++
		}
	}
	// Dead parameters need a conv on an edge into a node the output cannot see.
	if dead == 0 || dead > 15625/2 {
		t.Errorf("%d cells with dead parameters", dead)
	}
	t.Logf("%d of 15625 cells hold parameters on edges their output cannot see", dead)
}

// allNB201Cells are the 15,625 cells, each edge's op in turn.
func allNB201Cells() []NB201Arch {
	out := make([]NB201Arch, 0, 15625)
	for code := range 15625 {
		var a NB201Arch
		for i, c := 0, code; i < len(a); i, c = i+1, c/5 {
			a[i] = uint8(c % len(NB201Ops))
		}
		out = append(out, a)
	}
	return out
}

// Index numbers the 15,625 cells one to one; Function is equal for two cells exactly
// when their Effective cells are, and FunctionOf sees it through a wrapper.
func TestNB201IndexAndFunction(t *testing.T) {
	sp, err := NewNB201(DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	functions := map[string]bool{}
	for i := range NB201Cells {
		a := NB201Cell(i)
		if a.Index() != i {
			t.Fatalf("cell %d (%s) has index %d", i, a, a.Index())
		}
		f := sp.Function(a)
		if f != a.Effective().String() {
			t.Fatalf("%s: function %s, effective %s", a, f, a.Effective())
		}
		functions[f] = true
	}
	if len(functions) != 11155 {
		t.Errorf("%d functions, want NAS-Bench-201's 11,155", len(functions))
	}
	dead := NB201Arch{3, 3, 3, 3, 3, 0} // node 2's edge to 3 removed: node 2 feeds nothing
	other := NB201Arch{3, 1, 3, 3, 3, 0}
	if FunctionOf(sp, dead) == FunctionOf(sp, NB201Arch{3, 3, 3, 3, 3, 3}) || FunctionOf(sp, dead) == FunctionOf(sp, other) && dead.Effective() != other.Effective() {
		t.Error("FunctionOf tells apart cells of one function, or joins two")
	}
}
