package spaces

import (
	"strings"
	"testing"
)

// In NB201 every path passes through each cell's output, never through one edge of a
// cell with two paths.
func TestCuts(t *testing.T) {
	s, _ := NewNB201(NB201Options{Options: Options{Input: [3]int{1, 8, 8}, Classes: 3}, Channels: 4, Cells: 1})
	a, _ := s.Parse([]byte("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"))
	net, _ := s.Network(a)
	cuts := net.Cuts()
	if len(cuts) == 0 {
		t.Fatal("no cuts")
	}
	isCut := map[int]bool{}
	for _, c := range cuts {
		isCut[c] = true
	}
	for _, l := range net.Layers {
		switch {
		case strings.HasSuffix(l.Name, "node3/sum") || strings.HasPrefix(l.Name, "stem/") || l.Kind == GlobalPool:
			if !isCut[l.ID] {
				t.Errorf("layer %d %s is not a cut", l.ID, l.Name)
			}
		case strings.Contains(l.Name, "/cell") && !strings.HasSuffix(l.Name, "node3/sum"), strings.HasPrefix(l.Name, "reduce") && !strings.HasSuffix(l.Name, "/sum"):
			if isCut[l.ID] { // inside a cell or a reduction block there are parallel paths
				t.Errorf("layer %d %s is a cut", l.ID, l.Name)
			}
		}
	}
	// The only path through a chain: every layer is a cut.
	b := newBuilder(Shape{1, 4, 4})
	x := b.add(Layer{Kind: ReLU, Name: "r", Inputs: []int{0}})
	y := b.add(Layer{Kind: GlobalPool, Name: "g", Inputs: []int{x}})
	b.net.Output = b.add(Layer{Kind: Linear, Name: "fc", Inputs: []int{y}, OutC: 2})
	if got := b.net.Cuts(); len(got) != 2 || got[0] != x || got[1] != y {
		t.Errorf("chain cuts %v", got)
	}
}
