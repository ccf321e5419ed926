package bench

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cellar/evaluators"
	"cellar/internal/testkit"
	"cellar/spaces"
)

// cancelAt cancels when a line it is written contains at.
type cancelAt struct {
	at     string
	cancel func()
	out    testkit.Buffer
}

func (c *cancelAt) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.at) {
		c.cancel()
	}
	return c.out.Write(p)
}

func tinyOneShot() evaluators.OneShotOptions {
	o := evaluators.DefaultOneShot
	o.Dataset, o.Train, o.Val, o.Channels, o.Depth, o.ScoreSize, o.Recalibrate, o.Epochs, o.Seed = "mnist", 256, 128, 2, 1, 64, 2, 3, 1
	return o
}

// A supernet interrupted after its first epoch keeps that epoch in its file; the same
// call goes on from it and scores exactly as a run never interrupted.
func TestOneShotGoesOnFromItsSavedEpochs(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	archs := []spaces.Arch{sp.Sample(rng), sp.Sample(rng), sp.Sample(rng), sp.Sample(rng)}
	dir := t.TempDir()
	whole, err := RunOneShot(context.Background(), &testkit.Buffer{}, sp, tinyOneShot(), "uniform", filepath.Join(dir, "whole.supernet"), archs)
	if err != nil || !whole.Trained || whole.Epochs != 3 || len(whole.Loss) != 4 {
		t.Fatalf("uninterrupted: %+v, %v", whole, err)
	}

	saved := filepath.Join(dir, "cut.supernet")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cut, err := RunOneShot(ctx, &cancelAt{at: "supernet epoch 1/3", cancel: cancel}, sp, tinyOneShot(), "uniform", saved, archs)
	if !errors.Is(err, context.Canceled) || cut.Trained || cut.Epochs != 1 || len(cut.Loss) != 0 {
		t.Fatalf("interrupted after epoch 1: %+v, %v", cut, err)
	}
	var progress testkit.Buffer
	resumed, err := RunOneShot(context.Background(), &progress, sp, tinyOneShot(), "uniform", saved, archs)
	if err != nil || !resumed.Trained {
		t.Fatalf("resumed: %+v, %v", resumed, err)
	}
	if strings.Contains(progress.String(), "epoch 1/3") || !strings.Contains(progress.String(), "epoch 2/3") {
		t.Errorf("the resumed run trained epoch 1 again, or not epoch 2:\n%s", progress.String())
	}
	for name, pair := range map[string][2][]float64{"accuracy": {resumed.Acc, whole.Acc}, "loss": {resumed.Loss, whole.Loss}, "angle": {resumed.Angle, whole.Angle}} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Errorf("%s after the interrupt %v, uninterrupted %v", name, pair[0], pair[1])
		}
	}
	// Taken up whole: nothing trained, the same scores.
	again, err := RunOneShot(context.Background(), &progress, sp, tinyOneShot(), "uniform", saved, archs)
	if err != nil || !slices.Equal(again.Loss, whole.Loss) {
		t.Errorf("from the saved supernet: %v, loss %v", err, again.Loss)
	}
}

// A sampling's rows rank by what they say: the loss row is the loss, lower first.
func TestOneShotRowsRankTheirScores(t *testing.T) {
	run := OneShotRun{Acc: []float64{1, 2, 4, 3}, Loss: []float64{4, 3, 2, 1}, Angle: []float64{1, 2, 3, 4}}
	truth, params, live := []float64{10, 20, 30, 40}, []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}
	rows := run.Rows(truth, params)
	labels := make([]string, len(rows))
	for i, r := range rows {
		labels[i] = strings.TrimSpace(r.Label)
	}
	if !slices.Equal(labels, []string{"acc", "loss", "angle", "+angle", "+params", "+both"}) {
		t.Fatalf("rows %v", labels)
	}
	if rows[0].Spearman != 0.8 || rows[1].Spearman != 1 || rows[2].Kendall != 1 || rows[3].Spearman != 1 {
		t.Errorf("acc (one pair swapped), loss, angle and +angle rank as they say: %+v", rows[:4])
	}
	if rows[4].Spearman != 1 || rows[5].Spearman != 1 {
		t.Errorf("+params and +both rank as the truth does: %+v", rows[4:6])
	}
	// The default rank is the loss's, the angle's and live params' together: with
	// the angle reversed, live params decide it.
	split := OneShotRun{Loss: run.Loss, Angle: []float64{4, 3, 2, 1}}
	if got := Correlate("", split.Rank(params), truth, "").Spearman; got != 1 {
		t.Errorf("rank with live params agreeing: Spearman %v, want 1", got)
	}
	if got := Correlate("", split.Rank(live), truth, "").Spearman; got != -1 {
		t.Errorf("rank with live params reversed: Spearman %v, want -1", got)
	}
	if got := Correlate("x", live, truth, "").Spearman; got != -1 {
		t.Errorf("live params reversed: Spearman %v", got)
	}
}
