package datasets

import (
	"slices"
	"testing"
)

func image(h, w int, px ...uint8) *Dataset {
	return &Dataset{Name: "t", N: 1, C: 1, H: h, W: w, Classes: 2, Pixels: px, Labels: []uint8{1}, Mean: []float32{0}, Std: []float32{1}}
}

func TestResizedHalvesByBlockAverages(t *testing.T) {
	d := image(4, 4,
		0, 10, 20, 40,
		10, 20, 60, 80,
		100, 100, 0, 0,
		100, 100, 0, 200)
	got := d.Resized(2, 2)
	// Exactly half: each output pixel sits between two inputs in each direction.
	if want := []uint8{10, 50, 100, 50}; !slices.Equal(got.Pixels, want) {
		t.Errorf("got %v, want %v", got.Pixels, want)
	}
	if got.H != 2 || got.W != 2 || got.Labels[0] != 1 || d.H != 4 || len(d.Pixels) != 16 {
		t.Error("shape, labels or the source changed")
	}
}

func TestResizedUpsamplesLinearly(t *testing.T) {
	d := image(1, 2, 0, 100)
	got := d.Resized(1, 4)
	// Half-pixel centres: outputs at input x = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
	if want := []uint8{0, 25, 75, 100}; !slices.Equal(got.Pixels, want) {
		t.Errorf("got %v, want %v", got.Pixels, want)
	}
	if d.Resized(1, 2) != d {
		t.Error("the same size should return the dataset itself")
	}
}
