package spaces

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// activeParams counts the parameters of the layers of net that reach its output,
// through only the inputs of mixes that have a weight in w.
func activeParams(net *Net, mixes []Mix, w [][]float32) int {
	mixOf := map[int]Mix{}
	for _, m := range mixes {
		mixOf[m.Layer] = m
	}
	seen := map[int]bool{}
	stack := []int{net.Output}
	total := 0
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[id] {
			continue
		}
		seen[id] = true
		l := net.Layers[id]
		total += net.LayerParams(l)
		for i, in := range l.Inputs {
			if m, ok := mixOf[id]; ok && w[m.Edge][i] == 0 {
				continue
			}
			stack = append(stack, in)
		}
	}
	return total
}

// The supernet with an arch's path weights is the arch's own network: the layers it
// runs hold exactly the parameters of the arch's (an arch may leave a cell input
// unused, so both count only the layers that reach the output); and deriving from those weights gives the
// arch back.
func TestSupernetPaths(t *testing.T) {
	nb, _ := NewNB201(NB201Options{Options: Options{Input: [3]int{1, 8, 8}, Classes: 3}, Channels: 4, Cells: 2})
	cell, _ := NewCell(CellOptions{Options: Options{Input: [3]int{1, 8, 8}, Classes: 3}, Nodes: 3, Layers: 3, Channels: 4})
	for _, space := range []interface {
		Space
		OneShot
	}{nb, cell} {
		sn, err := space.Supernet(SupernetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cellsPerEdge := map[int]int{}
		for _, m := range sn.Mixes {
			cellsPerEdge[m.Edge]++
			if got := len(sn.Net.Layers[m.Layer].Inputs); got != len(sn.Ops) {
				t.Fatalf("%s: mix %d has %d inputs, want %d", space.Name(), m.Layer, got, len(sn.Ops))
			}
		}
		if len(cellsPerEdge) != len(sn.Edges) {
			t.Fatalf("%s: mixes cover %d edges of %d", space.Name(), len(cellsPerEdge), len(sn.Edges))
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 30 {
			a := space.Sample(rng)
			net, err := space.Network(a)
			if err != nil {
				t.Fatal(err)
			}
			w := space.PathWeights(a)
			if twice(w) {
				continue // one op twice on one edge: the supernet has one instance of it, weighted 2
			}
			if got, want := activeParams(sn.Net, sn.Mixes, w), activeParams(net, nil, nil); got != want || want == 0 {
				t.Errorf("%s %v: the supernet's path holds %d params, the network %d", space.Name(), a, got, want)
			}
		}
	}
	// Derive inverts PathWeights where the arch is what DARTS can derive.
	a := NB201Arch{3, 0, 1, 4, 2, 3}
	if got, err := nb.Derive(float64s(nb.PathWeights(a))); err != nil || got != a {
		t.Errorf("nb201 derive: %v, %v; want %v", got, err, a)
	}
	ca, err := cell.Parse([]byte("normal=|sep_conv_3x3~0|max_pool_3x3~1|+|skip_connect~0|conv_3x3~2|+|dilated_conv_3x3~1|avg_pool_3x3~3|;" +
		"reduce=|conv_5x5~0|identity~1|+|sep_conv_5x5~1|skip_connect~2|+|max_pool_3x3~0|sep_conv_3x3~2|"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cell.Derive(float64s(cell.PathWeights(ca))); err != nil || got != ca {
		t.Errorf("cell derive:\n got %v (%v)\nwant %v", got, err, ca)
	}
	// none is never derived in the cell space; the strongest other op is.
	w := float64s(cell.PathWeights(ca))
	for i := range w {
		w[i][indexOf(CellOps, "none")] = 5
	}
	if got, _ := cell.Derive(w); got != ca {
		t.Errorf("cell derive with none strongest: %v", got)
	}
	if _, err := cell.Derive(w[:3]); err == nil || !strings.Contains(err.Error(), "edges") {
		t.Errorf("short weights: %v", err)
	}
}

func float64s(w [][]float32) [][]float64 {
	out := make([][]float64, len(w))
	for i, row := range w {
		out[i] = make([]float64, len(row))
		for j, v := range row {
			out[i][j] = float64(v)
		}
	}
	return out
}

func twice(w [][]float32) bool {
	for _, row := range w {
		for _, v := range row {
			if v > 1 {
				return true
			}
		}
	}
	return false
}
