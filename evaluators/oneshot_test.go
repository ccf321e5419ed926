package evaluators

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"cellar/engine"
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

// Few-shot: after half the epochs the supernet splits into a copy per op of the first
// edge, each trained on its own paths; archs are scored by their copy, and the split
// state saves and restores whole.
func TestOneShotFewShot(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 2, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	opt := DefaultOneShot
	opt.FewShot, opt.Channels, opt.Depth, opt.Train, opt.Val, opt.ScoreSize, opt.Epochs, opt.Batch, opt.Seed = true, 2, 1, 256, 64, 64, 2, 32, 7
	s, err := NewOneShot(sp, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Learn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.subs != nil {
		t.Fatal("split before half the epochs")
	}
	if err := s.Learn(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.subs) != len(spaces.NB201Ops) {
		t.Fatalf("%d copies after the split", len(s.subs))
	}
	// Each copy trained only on paths with its op first: copies differ.
	if slices.EqualFunc(s.subs[1].Weights(), s.subs[3].Weights(), slices.Equal) {
		t.Error("two copies trained alike")
	}
	scores := func(ev *OneShot) []float64 {
		var out []float64
		for _, arch := range []string{"|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
			"|skip_connect~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"} {
			a, _ := sp.Parse([]byte(arch))
			o, err := ev.Evaluate(context.Background(), engine.Job{Arch: a}, nil)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o.Metrics["oneshot_accuracy"])
		}
		return out
	}
	want := scores(s)
	_, large, err := s.LargeState()
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	back, err := NewOneShot(sp, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Restore(st); err != nil {
		t.Fatal(err)
	}
	if err := back.RestoreLargeState(large); err != nil {
		t.Fatal(err)
	}
	if got := scores(back); !slices.Equal(got, want) {
		t.Errorf("restored scores %v, want %v", got, want)
	}
	if err := back.RestoreLargeState(large[:len(large)-9]); err == nil {
		t.Error("a cut-short split state restored")
	}
	if !strings.Contains(s.Describe(), "split on the first edge after epoch 1") {
		t.Errorf("describe: %s", s.Describe())
	}
	// Saved and loaded into an evaluator that scores otherwise: trained, it scores as
	// the original did where the scoring is the same, and trains no more.
	var saved bytes.Buffer
	if err := s.Save(&saved); err != nil {
		t.Fatal(err)
	}
	rescore := opt
	rescore.Recalibrate, rescore.Val, rescore.ScoreSize = 1, 128, 128
	loaded, err := NewOneShot(sp, rescore)
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.Load(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	if loaded.Learning() || len(loaded.subs) != len(spaces.NB201Ops) {
		t.Fatalf("loaded: learning %v, %d copies", loaded.Learning(), len(loaded.subs))
	}
	same, _ := NewOneShot(sp, opt)
	if err := same.Load(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatal(err)
	}
	if got := scores(same); !slices.Equal(got, want) {
		t.Errorf("loaded scores %v, want %v", got, want)
	}
	other := opt
	other.Epochs = 4
	differs, _ := NewOneShot(sp, other)
	if err := differs.Load(bytes.NewReader(saved.Bytes())); err == nil || !strings.Contains(err.Error(), "trained with") {
		t.Errorf("a supernet of 2 epochs loaded into one of 4: %v", err)
	}
	if err := differs.Load(strings.NewReader("{}")); err == nil || differs.subs != nil {
		t.Errorf("an empty file loaded: %v", err)
	}
}
