package evaluators

import (
	"context"
	"slices"
	"strings"
	"testing"

	"cellar/spaces"
)

// Fair sampling trains, each step, as many paths as an edge has ops, each op of each
// edge on exactly one of them, and a seed gives one supernet.
func TestOneShotFairSampling(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 2, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	opt := DefaultOneShot
	opt.Sampling, opt.Channels, opt.Depth, opt.Train, opt.Val, opt.ScoreSize, opt.Epochs, opt.Batch, opt.Seed = "fair", 2, 1, 256, 64, 64, 1, 32, 7
	trained := func() [][]float32 {
		s, err := NewOneShot(sp, opt)
		if err != nil {
			t.Fatal(err)
		}
		ws := s.paths()
		ops := len(spaces.NB201Ops)
		if len(ws) != ops {
			t.Fatalf("%d paths a step, want %d", len(ws), ops)
		}
		for e := range ws[0] {
			seen := make([]int, ops)
			for _, w := range ws {
				for op, v := range w[e] {
					if v == 1 {
						seen[op]++
					} else if v != 0 {
						t.Fatalf("edge %d weight %v", e, v)
					}
				}
			}
			if slices.Max(seen) != 1 || slices.Min(seen) != 1 {
				t.Fatalf("edge %d: ops on %v paths", e, seen)
			}
		}
		if err := s.Learn(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s.Describe(), "fair sampling") {
			t.Errorf("describe: %s", s.Describe())
		}
		return s.net.Weights()
	}
	if a, b := trained(), trained(); !slices.EqualFunc(a, b, slices.Equal) {
		t.Error("one seed trained two supernets")
	}
	cell, err := spaces.NewCell(spaces.DefaultCell)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewOneShot(cell, opt); err == nil || !strings.Contains(err.Error(), "nb201") {
		t.Errorf("fair sampling on the cell space: %v", err)
	}
}
