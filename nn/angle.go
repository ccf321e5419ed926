package nn

import (
	"math"

	G "gorgonia.org/gorgonia"

	"cellar/spaces"
)

// Angle is how far training has turned a path's own weights from where they were
// drawn: the angle, in radians, between the vector of the weights of the ops the path
// with mixing weights w (spaces.OneShot.PathWeights: the ops weighted other than 0 are
// the path's) chose, as they are now and as NewSupernet drew them. This is the
// angle-based metric of ABS (Hu et al. 2020, "Angle-based search space shrinking for
// neural architecture search"), which found it ranks a supernet's paths by their
// stand-alone accuracy better than their inherited accuracy does. It needs no data,
// so it carries none of a scoring set's noise. The larger, the better.
//
// As in ABS, the vector holds only ops on a route from the input to the output (an
// op behind a none, a Zero layer, or after one has no effect and is left out); a
// pooling op stands for a fixed kernel (C·k² values of 1/k², the same before and after
// training), a skip for nothing. It holds the conv and linear weights (Model.Weights),
// not biases or batch norms' scales: a scale starts at 1, and the few of an op would
// outweigh its kernel's many small values. Two departures from ABS, both measured on
// NB201 with Fashion-MNIST (docs/benchmarks.md):
//   - The skeleton's own weights (stem, reductions, classifier) are left out. Every
//     step trains them, so they turn further than any op's, and the fewer weights a
//     path's ops have, the more they dominate its vector: with them in, the angle
//     ranked archs backwards (Kendall -0.22 against their trained accuracy; +0.42
//     without). ABS's supernets have many cells to a stage, where they weigh less.
//   - An op's weights go in once, where ABS lists them once for each of the cell's
//     input-output routes through the op.
func (s *Supernet) Angle(w [][]float32) (float64, error) {
	if err := s.checkMix(w); err != nil {
		return 0, err
	}
	live := s.liveLayers(w)
	weight := make(map[*G.Node]bool, len(s.m.Weights))
	for _, n := range s.m.Weights {
		weight[n] = true
	}
	byLayer := map[int][]int{} // the indexes into Params of each layer's weights
	for i, p := range s.m.Params {
		if weight[p] {
			byLayer[s.m.paramLayer[i]] = append(byLayer[s.m.paramLayer[i]], i)
		}
	}
	var dot, now2, init2 float64
	for _, mx := range s.Spec.Mixes {
		for op, br := range mx.Branches {
			if w[mx.Edge][op] == 0 {
				continue
			}
			for id := br[0]; id < br[1]; id++ {
				if !live[id] {
					continue
				}
				if l := s.Spec.Net.Layers[id]; l.Kind == spaces.AvgPool || l.Kind == spaces.MaxPool {
					n, v := float64(l.Shape.C*l.Kernel*l.Kernel), 1/float64(l.Kernel*l.Kernel)
					dot, now2, init2 = dot+n*v*v, now2+n*v*v, init2+n*v*v
				}
				for _, i := range byLayer[id] {
					for j, v := range s.m.Params[i].Value().Data().([]float32) {
						a, b := float64(v), float64(s.init[i][j])
						dot, now2, init2 = dot+a*b, now2+a*a, init2+b*b
					}
				}
			}
		}
	}
	if now2 == 0 || init2 == 0 {
		return 0, nil // skips and nones only: no weights of its own, nothing turned
	}
	return math.Acos(max(-1, min(1, dot/math.Sqrt(now2*init2)))), nil
}

// liveLayers marks the layers the path w runs that lie on a route from the input to
// the output: reached from the input and reaching the output, through no Zero layer
// and no branch that w switches off.
func (s *Supernet) liveLayers(w [][]float32) []bool {
	layers := s.Spec.Net.Layers
	off := make(map[[2]int]bool) // {mix layer, input} pairs that w weights zero
	for _, mx := range s.Spec.Mixes {
		for op := range mx.Branches {
			if w[mx.Edge][op] == 0 {
				off[[2]int{mx.Layer, op}] = true
			}
		}
	}
	passes := func(l spaces.Layer, in int) bool { return l.Kind != spaces.Zero && !off[[2]int{l.ID, in}] }
	from := make([]bool, len(layers)) // reached from the input (layers are in topological order)
	for i, l := range layers {
		if l.Kind == spaces.Input {
			from[i] = true
		}
		for k, in := range l.Inputs {
			if from[in] && passes(l, k) {
				from[i] = true
			}
		}
	}
	to := make([]bool, len(layers)) // reaching the output
	to[s.Spec.Net.Output] = true
	for i := len(layers) - 1; i >= 0; i-- {
		if !to[i] {
			continue
		}
		for k, in := range layers[i].Inputs {
			if passes(layers[i], k) {
				to[in] = true
			}
		}
	}
	for i := range from {
		from[i] = from[i] && to[i]
	}
	return from
}
