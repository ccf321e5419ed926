package engine_test

import (
	"math/rand/v2"
	"testing"

	"cellar/evaluators"
	"cellar/internal/testtable"
	"cellar/proxies"
	"cellar/spaces"
	"cellar/stats"
	"cellar/strategies"
)

// The predictor's ensemble, fitted on 100 NB201 archs' CIFAR-10 accuracies, ranks
// 1,000 others far better than a constant (whose rank correlation is undefined, i.e.
// no better than chance).
func TestPredictorRanksHeldOutArchs(t *testing.T) {
	path := testtable.NB201(t, testtable.Smooth)
	sp, _ := spaces.NewNB201(spaces.DefaultNB201)
	table, err := evaluators.LoadTable(path, sp, "")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	sample := func(n int) ([][]float64, []float64) {
		var xs [][]float64
		var ys []float64
		for len(xs) < n {
			a := sp.Sample(rng)
			v, _ := table.Lookup(a)
			xs, ys = append(xs, sp.Encode(a)), append(ys, v["test_accuracy"])
		}
		return xs, ys
	}
	xs, ys := sample(100)
	hx, hy := sample(1000)
	d := strategies.DefaultPredictor
	ens, err := proxies.FitEnsemble(xs, ys, proxies.EnsembleOptions{Members: d.Ensemble, Hidden: d.Hidden, Epochs: d.Epochs, LearnRate: d.LearnRate}, 1)
	if err != nil {
		t.Fatal(err)
	}
	mean, spread := ens.Predict(hx)
	rho := stats.Spearman(mean, hy)
	if rho < 0.6 {
		t.Errorf("held-out Spearman %.3f, want at least 0.6", rho)
	}
	var anySpread bool
	for _, s := range spread {
		anySpread = anySpread || s > 0
	}
	if !anySpread {
		t.Error("the ensemble's members agree everywhere: no uncertainty to act on")
	}
	t.Logf("held-out Spearman of the predictor fitted on 100 archs: %.3f", rho)
}
