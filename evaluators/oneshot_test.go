package evaluators

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/spaces"
)

// tinyNB201 is an NB201 space over MNIST-shaped input small enough to train in a test.
func tinyNB201(t *testing.T) *spaces.NB201 {
	t.Helper()
	sp, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 2, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// Fair sampling trains, each step, as many paths as an edge has ops, each op of each
// edge on exactly one of them, and a seed gives one supernet.
func TestOneShotFairSampling(t *testing.T) {
	sp := tinyNB201(t)
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

// split_at moves the few-shot split: a quarter of 4 epochs splits after the first,
// where the default half splits after the second; a fraction outside (0, 1) is refused
// by name.
func TestOneShotSplitAt(t *testing.T) {
	sp := tinyNB201(t)
	opt := DefaultOneShot
	opt.FewShot, opt.Channels, opt.Depth, opt.Train, opt.Val, opt.ScoreSize, opt.Epochs, opt.Batch, opt.Seed = true, 2, 1, 128, 64, 64, 4, 32, 7
	splitAfter := func(at float64) int {
		o := opt
		o.SplitAt = at
		s, err := NewOneShot(sp, o)
		if err != nil {
			t.Fatal(err)
		}
		for s.subs == nil && s.Learning() {
			if err := s.Learn(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if !strings.Contains(s.Describe(), fmt.Sprintf("after epoch %d", s.epoch-1)) {
			t.Errorf("split_at %g: split in epoch %d, described as %q", at, s.epoch, s.Describe())
		}
		return s.epoch - 1
	}
	if got := splitAfter(0.25); got != 1 {
		t.Errorf("split_at 0.25 of 4 epochs: split after epoch %d, want 1", got)
	}
	if got := splitAfter(0.5); got != 2 {
		t.Errorf("split_at 0.5 of 4 epochs: split after epoch %d, want 2", got)
	}
	for _, at := range []float64{0, 1, -0.5} {
		o := opt
		o.SplitAt = at
		if _, err := NewOneShot(sp, o); err == nil || !strings.Contains(err.Error(), "split_at") {
			t.Errorf("split_at %g: %v", at, err)
		}
	}
	opt.FewShot, opt.SplitAt = false, 0 // only few-shot reads it
	if _, err := NewOneShot(sp, opt); err != nil {
		t.Errorf("split_at 0 without few_shot: %v", err)
	}
}

// Few-shot: after half the epochs the supernet splits into a copy per op of the first
// edge, each trained on its own paths; archs are scored by their copy, and the split
// state saves and restores whole.
func TestOneShotFewShot(t *testing.T) {
	sp := tinyNB201(t)
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
			out = append(out, o.Metrics["oneshot_accuracy"], o.Metrics["oneshot_angle"])
		}
		return out
	}
	want := scores(s)
	// live_params leaves out the convs of edges the output cannot see: in the first
	// cell node 2 (a 1x1 conv from node 1) is cut off from the output.
	for arch, dead := range map[string]bool{
		"|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|none~2|": true,
		"|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|": false,
	} {
		a, _ := sp.Parse([]byte(arch))
		o, err := s.Evaluate(context.Background(), engine.Job{Arch: a}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p, live := o.Metrics["params"], o.Metrics["live_params"]; live <= 0 || (live < p) != dead || live > p {
			t.Errorf("%s: params %v, live_params %v", arch, p, live)
		}
	}
	// The angle measures from the weights as drawn, which a restored or loaded
	// evaluator draws again from the seed: it must come back the same below.
	if !(want[1] > 0 && want[3] > 0) || want[1] == want[3] {
		t.Errorf("angles of two trained archs: %v and %v", want[1], want[3])
	}
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
	// A file saved before split_at was an option (no SplitAt in its training options)
	// split halfway, and loads as such.
	var doc map[string]any
	if err := json.Unmarshal(saved.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc["training"].(map[string]any), "SplitAt")
	old, _ := json.Marshal(doc)
	before, _ := NewOneShot(sp, opt)
	if err := before.Load(bytes.NewReader(old)); err != nil {
		t.Errorf("a few-shot supernet saved before split_at: %v", err)
	}
	quarter := opt
	quarter.SplitAt = 0.25
	elsewhere, _ := NewOneShot(sp, quarter)
	if err := elsewhere.Load(bytes.NewReader(saved.Bytes())); err == nil || !strings.Contains(err.Error(), "SplitAt") {
		t.Errorf("a supernet split at 0.5 loaded into one splitting at 0.25: %v", err)
	}
}

// Fine-tuning trains an arch's path alone before it is scored and puts the supernet
// back after: the score moves, the weights do not, and an arch scores the same
// whatever was scored before it. It is a scoring option: a supernet saved without it
// loads into an evaluator with it.
func TestOneShotFinetune(t *testing.T) {
	sp := tinyNB201(t)
	opt := DefaultOneShot
	opt.Channels, opt.Depth, opt.Train, opt.Val, opt.ScoreSize, opt.Epochs, opt.Batch, opt.Seed = 2, 1, 256, 64, 64, 1, 32, 7
	plain, err := NewOneShot(sp, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Learn(context.Background()); err != nil {
		t.Fatal(err)
	}
	var saved bytes.Buffer
	if err := plain.Save(&saved); err != nil {
		t.Fatal(err)
	}
	tuned := opt
	tuned.Finetune, tuned.FinetuneLR = 4, 0.05
	ft, err := NewOneShot(sp, tuned)
	if err != nil {
		t.Fatal(err)
	}
	if err := ft.Load(bytes.NewReader(saved.Bytes())); err != nil {
		t.Fatalf("a supernet saved without fine-tuning, loaded to score with it: %v", err)
	}
	if !strings.Contains(ft.Describe(), "4 fine-tuning steps") {
		t.Errorf("describe: %s", ft.Describe())
	}
	arch := func(s string) spaces.Arch {
		a, err := sp.Parse([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := arch("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|")
	b := arch("|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|")
	loss := func(ev *OneShot, x spaces.Arch) float64 {
		o, err := ev.Evaluate(context.Background(), engine.Job{Arch: x}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return o.Metrics["oneshot_loss"]
	}
	// The angle is of the inherited weights: fine-tuning does not move it.
	angle := func(ev *OneShot) float64 {
		o, err := ev.Evaluate(context.Background(), engine.Job{Arch: a}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return o.Metrics["oneshot_angle"]
	}
	if tuned, inherited := angle(ft), angle(plain); tuned != inherited || !(inherited > 0) {
		t.Errorf("angle %v fine-tuned, %v without", tuned, inherited)
	}
	weights := ft.net.Weights()
	first := loss(ft, a)
	if !slices.EqualFunc(ft.net.Weights(), weights, slices.Equal) {
		t.Error("fine-tuning left the supernet's weights changed")
	}
	loss(ft, b)
	if again := loss(ft, a); again != first {
		t.Errorf("arch scored %v, then %v after another arch", first, again)
	}
	if untuned := loss(plain, a); untuned == first {
		t.Errorf("fine-tuned loss %v equals the inherited weights' %v", first, untuned)
	}
	for _, bad := range []struct {
		steps int
		lr    float64
	}{{-1, 0.01}, {4, 0}} {
		o := opt
		o.Finetune, o.FinetuneLR = bad.steps, bad.lr
		if _, err := NewOneShot(sp, o); err == nil || !strings.Contains(err.Error(), "finetune") {
			t.Errorf("finetune %d, lr %g: %v", bad.steps, bad.lr, err)
		}
	}
}
