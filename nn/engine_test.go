package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

// TestEngineAdd checks the engine's Add against the standard engine's in the ways
// gorgonia calls it: into a reused tensor, unsafely into a, and (handed on) safely
// into a new tensor and with incr.
func TestEngineAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	shape := tensor.Shape{3, 5, 7}
	a, b := randFloats(rng, 105), randFloats(rng, 105)
	want := make([]float32, 105)
	for i := range want {
		want[i] = a[i] + b[i]
	}
	fresh := func(d []float32) *tensor.Dense { return newDense(shape, slices.Clone(d)) }
	e := engine{}

	reuse := fresh(make([]float32, 105))
	got, err := e.Add(fresh(a), fresh(b), tensor.WithReuse(reuse))
	if err != nil || got != tensor.Tensor(reuse) || !slices.Equal(reuse.Data().([]float32), want) {
		t.Fatalf("into a reused tensor: %v, same tensor %v", err, got == tensor.Tensor(reuse))
	}
	x := fresh(a)
	if got, err = e.Add(x, fresh(b), tensor.UseUnsafe()); err != nil || got != tensor.Tensor(x) || !slices.Equal(x.Data().([]float32), want) {
		t.Fatalf("unsafely into a: %v", err)
	}
	x = fresh(a)
	if got, err = e.Add(x, fresh(b)); err != nil || !slices.Equal(got.Data().([]float32), want) || !slices.Equal(x.Data().([]float32), a) {
		t.Fatalf("safely: %v, or a changed", err)
	}
	incr := fresh(want)
	if got, err = e.Add(fresh(a), fresh(b), tensor.WithIncr(incr)); err != nil {
		t.Fatal(err)
	}
	for i, v := range got.Data().([]float32) {
		if v != 2*want[i] {
			t.Fatalf("with incr: [%d] = %v, want %v", i, v, 2*want[i])
		}
	}
}
