package nn

import (
	"math"

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
// As in ABS, an op's weights go in once for each route from the cell's input to its
// output through it, so an op behind a none, or feeding nothing but one, is left out;
// a pooling op stands for a fixed kernel (C·k² values of 1/k², the same before and
// after training), a skip for nothing. The vector holds the conv and linear weights
// (Model.Weights), not biases or batch norms' scales: a scale starts at 1, and the few
// of an op would outweigh its kernel's many small values. One departure from ABS,
// measured on NB201 with Fashion-MNIST (docs/benchmarks.md): the skeleton's own
// weights (stem, reductions, classifier) are left out. Every step trains them, so they
// turn further than any op's, and the fewer weights a path's ops have, the more they
// dominate its vector: with them in, the angle ranked archs backwards (Kendall -0.22
// against their trained accuracy, each op's weights counted once; +0.42 without them,
// counted the same way; +0.46 counted per route). ABS's supernets have five cells a
// stage, where they weigh less; these have one.
func (s *Supernet) Angle(w [][]float32) (float64, error) {
	if err := s.checkMix(w); err != nil {
		return 0, err
	}
	routes := s.routes(w)
	byLayer := map[int][]int{} // the indexes into Model.Weights of each layer's weights
	for i, id := range s.m.weightLayer {
		byLayer[id] = append(byLayer[id], i)
	}
	var dot, now2, init2 float64
	for _, mx := range s.Spec.Mixes {
		for op, br := range mx.Branches {
			if w[mx.Edge][op] == 0 {
				continue
			}
			for id := br[0]; id < br[1]; id++ {
				k := routes[id] // its weights go in once for each route through it
				if k == 0 {
					continue
				}
				if l := s.Spec.Net.Layers[id]; l.Kind == spaces.AvgPool || l.Kind == spaces.MaxPool {
					n, v := float64(l.Shape.C*l.Kernel*l.Kernel), 1/float64(l.Kernel*l.Kernel)
					dot, now2, init2 = dot+k*n*v*v, now2+k*n*v*v, init2+k*n*v*v
				}
				for _, i := range byLayer[id] {
					for j, v := range s.m.weights[i].Value().Data().([]float32) {
						a, b := float64(v), float64(s.init[i][j])
						dot, now2, init2 = dot+k*a*b, now2+k*a*a, init2+k*b*b
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

// routes are, for each layer of the path w, the number of routes from the input to
// the output through it, counted within its stretch of the network: between the
// layers every route of the supernet passes through, whatever the path (a cell's
// input and output nodes), so that each NB201 cell counts its own four routes, as ABS
// does. A layer that lies on no route of w (behind a none, a Zero layer, or feeding
// nothing but one; in a branch w switches off) has 0.
func (s *Supernet) routes(w [][]float32) []float64 {
	off := make(map[[2]int]bool) // {mix layer, input} pairs that w weights zero
	for _, mx := range s.Spec.Mixes {
		for op := range mx.Branches {
			if w[mx.Edge][op] == 0 {
				off[[2]int{mx.Layer, op}] = true
			}
		}
	}
	from, to := s.routeCounts(func(l spaces.Layer, in int) bool { return l.Kind != spaces.Zero && !off[[2]int{l.ID, in}] })
	anyFrom, anyTo := s.routeCounts(func(spaces.Layer, int) bool { return true }) // every op of every edge
	out := s.Spec.Net.Output
	all := anyFrom[out]
	cut := func(i int) bool { return math.Abs(anyFrom[i]*anyTo[i]-all) <= 1e-9*all } // on every route
	// Every route to a layer passes through the last cut before it, and every route
	// from it through the next: its routes within its stretch are its routes divided by
	// those of the cuts around it.
	n := make([]float64, len(from))
	last := 0
	for i := range n {
		if cut(i) {
			last = i
		}
		if from[last] > 0 {
			n[i] = from[i] / from[last]
		}
	}
	next := out
	for i := out; i >= 0; i-- {
		if cut(i) {
			next = i
		}
		if to[next] > 0 {
			n[i] *= to[i] / to[next]
		} else {
			n[i] = 0
		}
	}
	return n
}

// routeCounts are, for each layer, the number of routes to it from the input and from
// it to the output, through the inputs that passes lets through.
func (s *Supernet) routeCounts(passes func(l spaces.Layer, in int) bool) (from, to []float64) {
	layers := s.Spec.Net.Layers
	from = make([]float64, len(layers)) // layers are in topological order
	for i, l := range layers {
		if l.Kind == spaces.Input {
			from[i] = 1
		}
		for k, in := range l.Inputs {
			if passes(l, k) {
				from[i] += from[in]
			}
		}
	}
	to = make([]float64, len(layers))
	to[s.Spec.Net.Output] = 1
	for i := s.Spec.Net.Output; i >= 0; i-- {
		for k, in := range layers[i].Inputs {
			if passes(layers[i], k) {
				to[in] += to[i]
			}
		}
	}
	return from, to
}
