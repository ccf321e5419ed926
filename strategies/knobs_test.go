package strategies

import (
	"strings"
	"testing"

	"cellar/spaces"
)

// edits counts the edges on which two NB201 archs differ.
func edits(a, b spaces.Arch) int {
	x, y := strings.Split(a.String(), "|"), strings.Split(b.String(), "|")
	n := 0
	for i := range x {
		if x[i] != y[i] {
			n++
		}
	}
	return n
}

// mutations is the mutation rate: a child is that many mutation steps from its
// parent, so at most that many edges differ, and with 3 more than 1 on average.
func TestMutationsPerChild(t *testing.T) {
	for _, k := range []int{1, 3} {
		s, err := NewRegEvo(nb201(t), 7, RegEvoOptions{Population: 5, Sample: 2, Mutations: k})
		if err != nil {
			t.Fatal(err)
		}
		d := newDriver(s, 1)
		d.run(5)
		d.step()
		byTrial := map[uint64]spaces.Arch{}
		for _, m := range s.Population() {
			byTrial[m.Trial] = m.Arch
		}
		total, n := 0, 0
		for range 200 {
			c := s.Ask(1)[0]
			e := edits(byTrial[c.Parent], c.Arch)
			if e > k {
				t.Fatalf("mutations %d: a child %d edges from its parent", k, e)
			}
			total += e
			n++
		}
		mean := float64(total) / float64(n)
		if (k == 1 && mean > 1) || (k == 3 && mean <= 1.5) {
			t.Errorf("mutations %d: children differ from parents in %.2f edges on average", k, mean)
		}
	}
}

// Steering a knob changes the option it names, within its range, and says why not.
func TestKnobs(t *testing.T) {
	s, _ := NewRegEvo(nb201(t), 1, RegEvoOptions{Population: 10, Sample: 3, Mutations: 1})
	for _, c := range []struct {
		name string
		v    float64
		want string
	}{
		{"population", 2, "population 2 is below the sample 3"},
		{"sample", 11, "sample 11 is over the population 10"},
		{"mutations", 0, "mutations 0 must be in 1…20"},
		{"sample", 2.5, "whole number"},
		{"elite", 1, `regevo has no knob "elite" (it has: population, sample, mutations)`},
	} {
		if err := s.SetKnob(c.name, c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s=%v: %v; want %q", c.name, c.v, err, c.want)
		}
	}
	if err := s.SetKnob("sample", 5); err != nil {
		t.Fatal(err)
	}
	for _, k := range s.Knobs() {
		if k.Name == "sample" && k.Value != 5 {
			t.Errorf("sample knob reads %v after setting 5", k.Value)
		}
	}
	p, _ := NewPredictor(nb201(t), 1, predictorWith(func(o *PredictorOptions) { o.Candidates, o.K = 20, 4 }))
	if err := p.SetKnob("k", 21); err == nil || !strings.Contains(err.Error(), "k 21 is over the candidates 20") {
		t.Errorf("predictor k over candidates: %v", err)
	}
	if err := p.SetKnob("k", 8); err != nil || p.opt.K != 8 {
		t.Errorf("predictor k: %v, k %d", err, p.opt.K)
	}
}
