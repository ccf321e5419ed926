package strategies

import (
	"math"
	"slices"
	"strings"
	"testing"

	"cellar/spaces"
)

const compoundBase = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

func scaledNB201(t *testing.T) *spaces.Scaled {
	t.Helper()
	b, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spaces.NewScaled(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func flopsOf(t *testing.T, s spaces.Space, a spaces.Arch) float64 {
	t.Helper()
	n, err := s.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	return float64(n.FLOPs())
}

// compoundScore prefers grid points near EfficientNet's (1.2, 1.1, 1.15).
func compoundScore(a spaces.Arch) float64 {
	c := a.(spaces.ScaledArch).Coefficients
	return -math.Abs(c.Alpha-1.2) - math.Abs(c.Beta-1.1) - math.Abs(c.Gamma-1.2)
}

// runCompound asks and tells one candidate at a time, restoring a fresh strategy
// from the snapshot after every tell when restore is set.
func runCompound(t *testing.T, s *spaces.Scaled, opt CompoundOptions, restore bool) ([]spaces.Arch, *Compound) {
	t.Helper()
	c, err := NewCompound(s, opt)
	if err != nil {
		t.Fatal(err)
	}
	var asked []spaces.Arch
	for id := uint64(1); ; id++ {
		got := c.Ask(1)
		if len(got) == 0 {
			return asked, c
		}
		a := got[0].Arch
		asked = append(asked, a)
		c.Tell([]Result{{Trial: id, Arch: a, Score: compoundScore(a)}})
		if restore {
			st, err := c.State()
			if err != nil {
				t.Fatal(err)
			}
			if c, err = NewCompound(s, opt); err != nil {
				t.Fatal(err)
			}
			if err := c.Restore(st); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestCompoundScaling(t *testing.T) {
	s := scaledNB201(t)
	unscaled, _ := s.Parse([]byte(compoundBase))
	base := unscaled.(spaces.ScaledArch).Base()
	f0 := flopsOf(t, s, unscaled)
	opt := CompoundOptions{Base: compoundBase, TargetFLOPs: 4 * f0, Grid: []float64{1, 1.1, 1.2, 1.3, 1.4}, Tolerance: 0.1}
	asked, c := runCompound(t, s, opt, false)
	var strs []string
	for _, a := range asked {
		strs = append(strs, a.String())
	}
	roles := c.Roles(append(strs, strs[0]))
	if asked[0].String() != compoundBase+"@alpha=1,beta=1,gamma=1,phi=0" {
		t.Errorf("first candidate %s, want the base unscaled", asked[0])
	}
	var grid []spaces.Coefficients
	for _, a := range asked[1 : len(asked)-4] {
		c := a.(spaces.ScaledArch).Coefficients
		if c.Phi != 1 || math.Abs(c.FLOPsFactor()-2) > 0.1 {
			t.Errorf("grid candidate %s: alpha·beta²·gamma² %g", a, c.FLOPsFactor())
		}
		grid = append(grid, c)
	}
	// Every grid point within the tolerance is tried, once.
	want := 0
	for _, a := range opt.Grid {
		for _, b := range opt.Grid {
			for _, g := range opt.Grid {
				if math.Abs(a*b*b*g*g-2) <= 0.1 {
					want++
				}
			}
		}
	}
	if len(grid) != want || want < 5 {
		t.Fatalf("%d grid candidates, want %d", len(grid), want)
	}
	final := asked[len(asked)-4:]
	for _, a := range final {
		x := a.(spaces.ScaledArch)
		f := flopsOf(t, s, a)
		next := x.Coefficients
		next.Phi += 0.001
		if f > opt.TargetFLOPs || flopsOf(t, s, spaces.NewScaledArch(base, next)) <= opt.TargetFLOPs {
			t.Errorf("%s: %g FLOPs, target %g: phi is not the largest within it", a, f, opt.TargetFLOPs)
		}
	}
	wantRoles := []string{RoleBase}
	for range grid {
		wantRoles = append(wantRoles, RoleGrid)
	}
	wantRoles = append(wantRoles, RoleCompound, RoleDepth, RoleWidth, RoleResolution, RoleHand) // the base again is by hand
	if !slices.Equal(roles, wantRoles) {
		t.Errorf("roles %v, want %v", roles, wantRoles)
	}
	if c := final[0].(spaces.ScaledArch).Coefficients; c.Alpha != 1.2 || c.Beta != 1.1 || c.Gamma != 1.2 {
		t.Errorf("compound scaled %v, not the best grid point (1.2, 1.1, 1.2)", c)
	}
	// A strategy restored from its snapshot after every trial asks the same.
	again, _ := runCompound(t, s, opt, true)
	if len(again) != len(asked) {
		t.Fatalf("restored run asked %d, uninterrupted %d", len(again), len(asked))
	}
	for i := range asked {
		if again[i].String() != asked[i].String() {
			t.Errorf("candidate %d: restored %s, uninterrupted %s", i, again[i], asked[i])
		}
	}
}

func TestCompoundWaitsForTheGrid(t *testing.T) {
	s := scaledNB201(t)
	c, err := NewCompound(s, CompoundOptions{Base: compoundBase, TargetFLOPs: 1e9, Grid: []float64{1, 1.2, 1.4}, Tolerance: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	first := c.Ask(100)
	if len(first) != 6 { // the base and five grid points
		t.Fatalf("asked %d", len(first))
	}
	if more := c.Ask(10); len(more) != 0 {
		t.Fatalf("asked %d more before the grid was told", len(more))
	}
	for i, cand := range first[:5] {
		c.Tell([]Result{{Trial: uint64(i + 1), Arch: cand.Arch, Score: 1}})
	}
	if more := c.Ask(10); len(more) != 0 {
		t.Fatalf("asked %d more with one grid point untold", len(more))
	}
	c.Tell([]Result{{Trial: 6, Arch: first[5].Arch, Failed: true}})
	if more := c.Ask(10); len(more) != 4 {
		t.Fatalf("asked %d after the grid, want the compound and three single-dimension scalings", len(more))
	}
}

func TestCompoundOptionErrors(t *testing.T) {
	s := scaledNB201(t)
	b, _ := spaces.NewNB201(spaces.DefaultNB201)
	for _, tc := range []struct {
		space spaces.Space
		opt   CompoundOptions
		say   string
	}{
		{b, CompoundOptions{Base: compoundBase, TargetFLOPs: 1e9}, "not a scaled space"},
		{s, CompoundOptions{TargetFLOPs: 1e9}, "give the arch to scale as base"},
		{s, CompoundOptions{Base: "|nor_conv_3x3~0|", TargetFLOPs: 1e9}, "compound: base: nb201 arch"},
		{s, CompoundOptions{Base: compoundBase, TargetFLOPs: 1e6, Grid: DefaultCompound.Grid, Tolerance: 0.1}, "must be above the base arch's"},
		{s, CompoundOptions{Base: compoundBase, TargetFLOPs: 1e9, Tolerance: 0.1}, "an empty grid"},
		{s, CompoundOptions{Base: compoundBase, TargetFLOPs: 1e9, Grid: DefaultCompound.Grid}, "tolerance 0 must be above 0"},
		{s, CompoundOptions{Base: compoundBase, TargetFLOPs: 1e9, Grid: []float64{1, 1.05}, Tolerance: 0.1}, "no grid point"},
		{s, CompoundOptions{Base: compoundBase, TargetFLOPs: 1e9, Grid: []float64{0.5, 2}, Tolerance: 0.1}, "grid value 0.5"},
	} {
		if _, err := NewCompound(tc.space, tc.opt); err == nil || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%+v: got %v, want %q", tc.opt, err, tc.say)
		}
	}
}
