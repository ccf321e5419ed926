package spaces

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func mustCell(t testing.TB) *Cell {
	t.Helper()
	s, err := NewCell(DefaultCell)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func paramsLimit(max float64) Limit {
	return Limit{Name: "params", Max: max, Measure: func(n *Net) float64 { return float64(n.Params()) }}
}

func params(t *testing.T, s Space, a Arch) float64 {
	t.Helper()
	n, err := s.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	return float64(n.Params())
}

// medianParams is the median param count of n archs sampled from s: a limit that
// half the space breaks.
func medianParams(t *testing.T, s Space, n int) float64 {
	rng := rand.New(rand.NewPCG(9, 9))
	var ps []float64
	for range n {
		ps = append(ps, params(t, s, s.Sample(rng)))
	}
	sort.Float64s(ps)
	return ps[n/2]
}

func TestConstrainedGivesOnlyFeasibleArchs(t *testing.T) {
	for _, base := range []Space{mustNB201(t, DefaultNB201), mustCell(t)} {
		t.Run(base.Name(), func(t *testing.T) {
			limit := medianParams(t, base, 201)
			c, err := Constrain(base, []Limit{paramsLimit(limit)}, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			if Base(c) != base || c.Name() != base.Name() {
				t.Fatalf("Base and Name do not reach the wrapped space")
			}
			rng := rand.New(rand.NewPCG(2, 2))
			infeasibleNeighbour := false
			for range 30 {
				a := c.Sample(rng)
				if p := params(t, base, a); p > limit {
					t.Fatalf("Sample gave %s with %g params over the limit %g", a, p, limit)
				}
				m := c.Mutate(a, rng)
				if p := params(t, base, m); p > limit || m.String() == a.String() {
					t.Fatalf("Mutate gave %s (%g params) from %s", m, p, a)
				}
				all := base.Neighbours(a)
				feasible := c.Neighbours(a)
				for _, n := range feasible {
					if params(t, base, n) > limit {
						t.Fatalf("neighbour %s over the limit", n)
					}
				}
				kept := 0
				for _, n := range all {
					if params(t, base, n) <= limit {
						if kept >= len(feasible) || feasible[kept].String() != n.String() {
							t.Fatalf("Neighbours dropped the feasible %s or changed the order", n)
						}
						kept++
					} else {
						infeasibleNeighbour = true
					}
				}
			}
			if !infeasibleNeighbour {
				t.Error("no neighbour was ever over the limit: the test limit shows nothing")
			}
		})
	}
}

func TestConstrainedValidateNamesTheLimit(t *testing.T) {
	base := mustNB201(t, DefaultNB201)
	limit := medianParams(t, base, 101)
	c, err := Constrain(base, []Limit{paramsLimit(limit)}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for {
		a := base.Sample(rng)
		if params(t, base, a) <= limit {
			if err := c.Validate(a); err != nil {
				t.Fatalf("feasible %s rejected: %v", a, err)
			}
			continue
		}
		err := c.Validate(a)
		var v Violation
		if !errors.As(err, &v) || v.Limit != "params" || v.Max != limit || !strings.Contains(err.Error(), "params") {
			t.Fatalf("infeasible %s: got %v", a, err)
		}
		return
	}
}

func TestConstrainImpossibleFailsNamingTheLeastSeen(t *testing.T) {
	_, err := Constrain(mustNB201(t, DefaultNB201), []Limit{paramsLimit(10)}, rand.New(rand.NewPCG(1, 1)))
	if err == nil || !strings.Contains(err.Error(), "params ≤ 10 (least seen") || !strings.Contains(err.Error(), "none of 1000") {
		t.Fatalf("got %v", err)
	}
}

func TestConstrainedSamplingIsDeterministic(t *testing.T) {
	base := mustCell(t)
	limit := medianParams(t, base, 51)
	draw := func() []string {
		c, err := Constrain(base, []Limit{paramsLimit(limit)}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(4, 4))
		var out []string
		for range 20 {
			a := c.Sample(rng)
			out = append(out, a.String(), c.Mutate(a, rng).String())
		}
		return out
	}
	if a, b := draw(), draw(); !slices.Equal(a, b) {
		t.Error("same seeds, different archs")
	}
}
