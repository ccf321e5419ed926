package proxies

import (
	"fmt"
	"math"

	"cellar/nn"
)

// EnsembleOptions shape a learned predictor: Members MLPs of the Hidden widths, each
// fitted for Epochs full-batch Adam steps at LearnRate.
type EnsembleOptions struct {
	Members   int
	Hidden    []int
	Epochs    int
	LearnRate float64
}

// Ensemble is a learned performance predictor: several MLPs fitted to the same data
// from different initialisations; their disagreement is its uncertainty.
type Ensemble []*nn.MLP

// FitEnsemble fits an ensemble to features xs (e.g. Space.Encode) and targets ys,
// seeded from seed.
func FitEnsemble(xs [][]float64, ys []float64, opt EnsembleOptions, seed uint64) (Ensemble, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("predictor: nothing to fit")
	}
	e := make(Ensemble, max(opt.Members, 1))
	for i := range e {
		e[i] = nn.NewMLP(len(xs[0]), opt.Hidden, seed+uint64(i))
		if err := e[i].Fit(xs, ys, opt.Epochs, opt.LearnRate); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Predict is the ensemble's mean prediction and spread (standard deviation across
// its members) for each row of feats.
func (e Ensemble) Predict(feats [][]float64) (mean, spread []float64) {
	preds := make([][]float64, len(e))
	for i, m := range e {
		preds[i] = m.Predict(feats)
	}
	mean, spread = make([]float64, len(feats)), make([]float64, len(feats))
	for r := range feats {
		for i := range e {
			mean[r] += preds[i][r]
		}
		mean[r] /= float64(len(e))
		var sq float64
		for i := range e {
			sq += (preds[i][r] - mean[r]) * (preds[i][r] - mean[r])
		}
		spread[r] = math.Sqrt(sq / float64(len(e)))
	}
	return mean, spread
}
