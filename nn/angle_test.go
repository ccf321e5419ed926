package nn

import (
	"math/rand/v2"
	"testing"

	"cellar/spaces"
)

// The angle of a path: 0 until its own ops train, whatever else does (the skeleton's
// weights train on every step and do not count); ops that cannot reach the output, or
// cannot be reached from the input, do not count either; the others count once for
// each route through them.
func TestSupernetAngle(t *testing.T) {
	s, space := tinySupernet(t, 8)
	d := mnist(t).Train.Slice(0, 64)
	const none, skip, c1, c3, pool = 0, 1, 2, 3, 4
	// Edges in order: 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
	path := func(ops ...uint8) [][]float32 { return space.PathWeights(spaces.NB201Arch(ops)) }
	angle := func(w [][]float32) float64 {
		t.Helper()
		a, err := s.Angle(w)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	train := func(w [][]float32) {
		rng := rand.New(rand.NewPCG(1, 2))
		for range 3 {
			if _, err := s.TrainStep(d, rng.Perm(64)[:8], w, 0.1, 0.9, 3e-4); err != nil {
				t.Fatal(err)
			}
		}
	}
	conv3, conv1 := path(c3, c3, c3, c3, c3, c3), path(c1, c1, c1, c1, c1, c1)
	if a := angle(conv3); a != 0 {
		t.Errorf("untrained: angle %v", a)
	}
	train(conv3)
	if a := angle(conv3); !(a > 0) {
		t.Errorf("trained: angle %v", a)
	}
	if a := angle(conv1); a != 0 {
		t.Errorf("a path of 1x1 convs, only 3x3s trained (and the skeleton): angle %v", a)
	}
	if a := angle(path(pool, skip, pool, skip, pool, none)); a != 0 {
		t.Errorf("pools and skips, which have no weights to train: angle %v", a)
	}
	train(conv1)
	// A none on 1<-0 leaves node 1 zero: the ops on 2<-1 and 3<-1 then do nothing,
	// whichever they are; after a skip there they count.
	if a, b := angle(path(none, c3, c3, c3, c3, c3)), angle(path(none, c3, c1, c3, c1, c3)); a != b {
		t.Errorf("ops fed only by a none counted: %v against %v", a, b)
	}
	if a, b := angle(path(skip, c3, c3, c3, c3, c3)), angle(path(skip, c3, c1, c3, c1, c3)); a == b {
		t.Errorf("ops fed by a skip left out: both %v", a)
	}
	// Nones on 2<-1 and 3<-1 leave node 1 unused: the op on 1<-0 reaches nothing.
	if a, b := angle(path(c3, c3, none, c3, none, c3)), angle(path(c1, c3, none, c3, none, c3)); a != b {
		t.Errorf("an op whose output goes nowhere counted: %v against %v", a, b)
	}
	// A pool stands for a fixed kernel, where a skip stands for nothing: the same
	// trained convs with a pool beside them turn less.
	if a, b := angle(path(c3, pool, c3, c3, c3, c3)), angle(path(c3, skip, c3, c3, c3, c3)); !(a < b) {
		t.Errorf("with a pool %v, with a skip %v", a, b)
	}
	// An op counts once for each of its cell's input-output routes through it, as in
	// ABS: the routes are 0-3, 0-2-3, 0-1-2-3 and 0-1-3, less those through a none.
	for _, tc := range []struct {
		w    [][]float32
		want [6]float64 // by edge
	}{{conv3, [6]float64{2, 1, 1, 1, 1, 2}}, {path(c3, c3, none, c3, c3, c3), [6]float64{1, 1, 0, 1, 1, 1}},
		{path(pool, none, skip, none, c1, c1), [6]float64{2, 0, 1, 0, 1, 1}}} {
		routes := s.routes(tc.w)
		for _, mx := range s.Spec.Mixes {
			for op, br := range mx.Branches {
				if tc.w[mx.Edge][op] != 0 && routes[br[0]] != tc.want[mx.Edge] {
					t.Errorf("%v: edge %d (layer %d): %v routes, want %v", tc.w, mx.Edge, br[0], routes[br[0]], tc.want[mx.Edge])
				}
			}
		}
	}
	if _, err := s.Angle(path(c3, c3, c3, c3, c3, c3)[:5]); err == nil {
		t.Error("5 rows of mixing weights for 6 edges: no error")
	}
}
