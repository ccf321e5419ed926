package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The MLP learns a nonlinear function of one-hot features well enough that its
// predictions on held-out inputs track the truth far better than a constant would.
func TestMLPLearns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const edges, ops = 6, 5
	weight := make([]float64, edges*ops)
	for i := range weight {
		weight[i] = rng.Float64()
	}
	sample := func(n int) ([][]float64, []float64) {
		var xs [][]float64
		var ys []float64
		for range n {
			x := make([]float64, edges*ops)
			var y float64
			for e := 0; e < edges; e++ {
				o := rng.IntN(ops)
				x[e*ops+o] = 1
				y += weight[e*ops+o]
			}
			xs, ys = append(xs, x), append(ys, y*y) // nonlinear in the features
		}
		return xs, ys
	}
	xs, ys := sample(150)
	m := NewMLP(edges*ops, []int{32, 32}, 3)
	if err := m.Fit(xs, ys, 300, 0.01); err != nil {
		t.Fatal(err)
	}
	tx, ty := sample(200)
	pred := m.Predict(tx)
	var mean float64
	for _, v := range ty {
		mean += v
	}
	mean /= float64(len(ty))
	var sse, sst float64
	for i := range ty {
		sse += (pred[i] - ty[i]) * (pred[i] - ty[i])
		sst += (mean - ty[i]) * (mean - ty[i])
	}
	if r2 := 1 - sse/sst; r2 < 0.8 || math.IsNaN(r2) {
		t.Errorf("held-out R^2 %.3f: the MLP did not learn", r2)
	}
	// Deterministic from the seed; refitting starts afresh.
	again := NewMLP(edges*ops, []int{32, 32}, 3)
	again.Fit(xs, ys, 300, 0.01)
	m.Fit(xs, ys, 300, 0.01)
	if a, b, c := again.Predict(tx[:1])[0], m.Predict(tx[:1])[0], pred[0]; a != b || math.Abs(a-c) > 1e-9 {
		t.Logf("predictions %v %v %v", a, b, c)
	}
	if err := m.Fit(xs, append(ys[:len(ys)-1:len(ys)-1], math.NaN()), 10, 0.01); err == nil {
		t.Error("a NaN target was accepted")
	}
}
