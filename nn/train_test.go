package nn

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"cellar/spaces"
)

var mnistShape = spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}

func mnist(t testing.TB) *Data {
	t.Helper()
	d, err := Load("mnist", "")
	if err != nil {
		t.Fatalf("built-in MNIST: %v", err)
	}
	return d
}

func smallNB201(t testing.TB, arch string) *spaces.Net {
	t.Helper()
	s, err := spaces.NewNB201(spaces.NB201Options{Options: mnistShape, Channels: 8, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Parse([]byte(arch))
	if err != nil {
		t.Fatal(err)
	}
	net, err := s.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func TestMNISTLoads(t *testing.T) {
	d := mnist(t)
	if d.Train.N != 60000 || d.Test.N != 10000 || d.Train.Shape() != [3]int{1, 28, 28} {
		t.Fatalf("train %d, test %d, shape %v", d.Train.N, d.Test.N, d.Train.Shape())
	}
	if m := d.Train.Mean[0]; math.Abs(float64(m)-0.1307) > 1e-3 {
		t.Errorf("MNIST mean %v, want 0.1307", m)
	}
	train, val, err := d.Split(5000, 1000)
	if err != nil || train.N != 1000 || val.N != 5000 {
		t.Fatalf("split: %d, %d, %v", train.N, val.N, err)
	}
}

func TestTrainsAboveChance(t *testing.T) {
	d := mnist(t)
	train, val, err := d.Split(1000, 3000)
	if err != nil {
		t.Fatal(err)
	}
	cfg := TrainConfig{Epochs: 2, Batch: 32, LR: 0.05}
	start := time.Now()
	res, err := Train(context.Background(), smallNB201(t, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"), train, val, nil, cfg, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("nb201 cell: val %.1f%% in %s (%.0f samples/s)", res.ValAcc, time.Since(start), float64(res.Samples)/res.Seconds)
	if res.ValAcc < 80 {
		t.Errorf("val accuracy %.1f%%, want well above chance", res.ValAcc)
	}
}

func TestCancelStopsTraining(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 10000)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Train(ctx, smallNB201(t, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"), train, val, nil, TrainConfig{Epochs: 5}, 1, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("train after cancel: %v", err)
	}
}

func TestDivergenceFailsWithReason(t *testing.T) {
	d := mnist(t)
	train, val, _ := d.Split(1000, 640)
	_, err := Train(context.Background(), smallNB201(t, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"), train, val, nil, TrainConfig{LR: 1e6}, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "training diverged") {
		t.Fatalf("lr 1e6: %v", err)
	}
}
