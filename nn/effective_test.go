package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"cellar/spaces"
)

// An NB201 cell and its Effective compute the same function: Effective's network,
// given the weights the cell's network has on the edges Effective keeps (nodes 1 and 2
// matched by name, in one of their two orders), gives the same logits on the same
// input, in training mode (batch statistics) and in evaluation mode.
func TestNB201EffectiveSameLogits(t *testing.T) {
	space, err := spaces.NewNB201(spaces.NB201Options{Options: mnistShape, Channels: 2, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	const batch = 4
	rng := rand.New(rand.NewPCG(7, 7))
	x := make([]float32, batch*28*28)
	for i := range x {
		x[i] = rng.Float32()
	}
	logits := func(m *Model) (eval, train []float32) {
		t.Helper()
		eval, err := m.Forward(x, false)
		if err != nil {
			t.Fatal(err)
		}
		train, err = m.Forward(x, true)
		if err != nil {
			t.Fatal(err)
		}
		return eval, train
	}
	swapNodes := strings.NewReplacer("node1/", "node2/", "node2/", "node1/", "edge1/", "edge2/", "edge2/", "edge1/")
	tried := 0
	for tried < 12 {
		a := space.Sample(rng).(spaces.NB201Arch)
		e := a.Effective()
		if e == a {
			continue
		}
		tried++
		compile := func(arch spaces.NB201Arch) *Model {
			net, err := space.Network(arch)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Compile(net, batch, rand.New(rand.NewPCG(uint64(tried), 1)))
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		ma := compile(a)
		wantEval, wantTrain := logits(ma)
		byName := map[string][]float32{}
		for _, p := range ma.params {
			byName[p.Name()[strings.Index(p.Name(), ":")+1:]] = p.Value().Data().([]float32)
		}
		same := false
		for _, rename := range []func(string) string{func(s string) string { return s }, swapNodes.Replace} {
			me := compile(e)
			matched := true
			for _, p := range me.params {
				v, ok := byName[rename(p.Name()[strings.Index(p.Name(), ":")+1:])]
				if !ok || len(v) != p.Shape().TotalSize() {
					matched = false
					break
				}
				copy(p.Value().Data().([]float32), v)
			}
			if !matched {
				continue
			}
			gotEval, gotTrain := logits(me)
			same = closeLogits(gotEval, wantEval) && closeLogits(gotTrain, wantTrain)
			if same {
				break
			}
		}
		if !same {
			t.Errorf("%s and its Effective %s: different logits with the same weights", a, e)
		}
	}
}

func closeLogits(a, b []float32) bool {
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-4*(1+math.Abs(float64(b[i]))) {
			return false
		}
	}
	return len(a) == len(b)
}
