package strategies

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"cellar/spaces"
)

// CompoundOptions configure compound scaling.
type CompoundOptions struct {
	Base        string  `yaml:"base"`         // the arch to scale, in the space's string form
	TargetFLOPs float64 `yaml:"target_flops"` // FLOPs of one sample's pass through the scaled network
	// Grid is the values alpha, beta and gamma each take in the search at phi = 1
	// (default 1, 1.1, ..., 2).
	Grid []float64 `yaml:"grid"`
	// Tolerance is how far alpha·beta²·gamma² may be from 2 (0.1).
	Tolerance float64 `yaml:"tolerance"`
}

// DefaultCompound are the defaults a config's options fill in (base has none).
var DefaultCompound = CompoundOptions{Grid: []float64{1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2}, Tolerance: 0.1}

func init() {
	Register("compound", "EfficientNet's compound scaling of a base network's depth, width and resolution", DefaultCompound, Factory{
		New: func(c spaces.Component, space spaces.Space, _ uint64) (Strategy, error) {
			opt := DefaultCompound
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			return NewCompound(space, opt)
		},
		Space: func(configured spaces.Space) (spaces.Space, error) { return spaces.NewScaled(configured) },
	})
}

// Roles of the trials of a compound scaling search (see Roles).
const (
	RoleBase       = "base"       // the base arch, unscaled
	RoleGrid       = "grid"       // a grid point at phi = 1
	RoleCompound   = "compound"   // the best grid point scaled to the target
	RoleDepth      = "depth"      // depth alone scaled to the target
	RoleWidth      = "width"      // width alone
	RoleResolution = "resolution" // resolution alone
	RoleHand       = "hand"       // none of the search's own: queued by hand
)

// singleDimension are the coefficients that scale one dimension alone, FLOPs ×2 per
// step of phi like the grid's: EfficientNet's comparison (its Figure 3). √2 is written
// to four places so that arch strings stay short.
var singleDimension = []struct {
	role string
	c    spaces.Coefficients
}{
	{RoleDepth, spaces.Coefficients{Alpha: 2, Beta: 1, Gamma: 1}},
	{RoleWidth, spaces.Coefficients{Alpha: 1, Beta: 1.4142, Gamma: 1}},
	{RoleResolution, spaces.Coefficients{Alpha: 1, Beta: 1, Gamma: 1.4142}},
}

// Compound is EfficientNet's compound scaling (Tan and Le 2019) of one base arch:
// first the base itself, then every grid point (alpha, beta, gamma) with
// alpha·beta²·gamma² within the tolerance of 2, each at phi = 1 (about twice the
// FLOPs); then the best of them scaled by the phi that brings the network to the
// FLOPs target, and, for comparison, depth, width and resolution each scaled alone
// to the same target. phi is found by bisection on the IR's real FLOPs, which the
// rounding of channels and depths keeps from following 2^phi exactly. Every
// candidate is a trial; the search ends after the last.
type Compound struct {
	space  *spaces.Scaled
	base   spaces.Arch
	target float64
	grid   []spaces.Coefficients // phi = 1
	asked  int                   // candidates handed out, in list order
	scores map[int]float64       // grid index -> score, as told
	final  []spaces.Arch         // phase 2, once every grid point is told
}

// NewCompound checks the options against a scaled space.
func NewCompound(space spaces.Space, opt CompoundOptions) (*Compound, error) {
	sc, ok := spaces.Base(space).(*spaces.Scaled)
	if !ok {
		return nil, fmt.Errorf("compound: space %s is not a scaled space", space.Name())
	}
	if opt.Base == "" {
		return nil, errors.New("compound: give the arch to scale as base (e.g. the best arch of an earlier search)")
	}
	base, err := sc.BaseSpace().Parse([]byte(opt.Base))
	if err != nil {
		return nil, fmt.Errorf("compound: base: %w", err)
	}
	if err := sc.BaseSpace().Validate(base); err != nil {
		return nil, fmt.Errorf("compound: base: %w", err)
	}
	if len(opt.Grid) == 0 {
		return nil, errors.New("compound: an empty grid (give the values alpha, beta and gamma take, e.g. [1, 1.2, 1.4])")
	}
	if !(opt.Tolerance > 0) || opt.Tolerance > 1 {
		return nil, fmt.Errorf("compound: tolerance %g must be above 0 and at most 1", opt.Tolerance)
	}
	for _, v := range opt.Grid {
		if !(v >= 1 && v <= 4) {
			return nil, fmt.Errorf("compound: grid value %g must be from 1 to 4", v)
		}
	}
	c := &Compound{space: sc, base: base, target: opt.TargetFLOPs, scores: map[int]float64{}}
	for _, a := range opt.Grid {
		for _, b := range opt.Grid {
			for _, g := range opt.Grid {
				k := spaces.Coefficients{Alpha: a, Beta: b, Gamma: g, Phi: 1}
				if math.Abs(k.FLOPsFactor()-2) <= opt.Tolerance {
					c.grid = append(c.grid, k)
				}
			}
		}
	}
	if len(c.grid) == 0 {
		return nil, fmt.Errorf("compound: no grid point has alpha·beta²·gamma² within %g of 2; widen the grid or the tolerance", opt.Tolerance)
	}
	f0, err := c.flops(spaces.Coefficients{Alpha: 1, Beta: 1, Gamma: 1})
	if err != nil {
		return nil, fmt.Errorf("compound: base: %w", err)
	}
	if !(opt.TargetFLOPs > f0) {
		return nil, fmt.Errorf("compound: target_flops %g must be above the base arch's %g FLOPs", opt.TargetFLOPs, f0)
	}
	return c, nil
}

func (c *Compound) Name() string { return "compound" }

// Roles names what each trial is, given the trials' archs in trial order. An arch the
// search asks twice (a single-dimension scaling that lands on a grid point) is the
// grid point first. The roles of the final four are known once the grid is told.
func (c *Compound) Roles(archs []string) []string {
	final := map[string]string{}
	for i, a := range c.final {
		final[a.String()] = []string{RoleCompound, RoleDepth, RoleWidth, RoleResolution}[i]
	}
	first := map[string]string{}
	for i := 0; i <= len(c.grid); i++ {
		a, _ := c.candidate(i)
		first[a.String()] = RoleGrid
		if i == 0 {
			first[a.String()] = RoleBase
		}
	}
	seen := map[string]bool{}
	out := make([]string, len(archs))
	for i, a := range archs {
		switch {
		case first[a] != "" && !seen[a]:
			out[i] = first[a]
		case final[a] != "":
			out[i] = final[a]
		default:
			out[i] = RoleHand
		}
		seen[a] = true
	}
	return out
}

// flops are the FLOPs of the base scaled by k.
func (c *Compound) flops(k spaces.Coefficients) (float64, error) {
	net, err := c.space.Network(spaces.NewScaledArch(c.base, k))
	if err != nil {
		return 0, err
	}
	return float64(net.FLOPs()), nil
}

// phiFor is the largest phi (to 0.001) at which the base scaled by k has at most the
// target FLOPs. A network too large to build counts as over the target.
func (c *Compound) phiFor(k spaces.Coefficients) float64 {
	lo, hi := 0, 16000 // thousandths of phi; lo is within the target
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		k.Phi = float64(mid) / 1000
		if f, err := c.flops(k); err == nil && f <= c.target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return float64(lo) / 1000
}

// candidates are the archs in the order they are asked: the base, the grid, and the
// final ones once known.
func (c *Compound) candidate(i int) (spaces.Arch, bool) {
	switch {
	case i == 0:
		return spaces.NewScaledArch(c.base, spaces.Coefficients{Alpha: 1, Beta: 1, Gamma: 1}), true
	case i <= len(c.grid):
		return spaces.NewScaledArch(c.base, c.grid[i-1]), true
	case i-1-len(c.grid) < len(c.final):
		return c.final[i-1-len(c.grid)], true
	}
	return nil, false
}

func (c *Compound) Ask(n int) []Candidate {
	if c.asked == 1+len(c.grid) && c.final == nil && len(c.scores) == len(c.grid) {
		c.final = c.scale()
	}
	var out []Candidate
	for len(out) < n {
		a, ok := c.candidate(c.asked)
		if !ok {
			break
		}
		out = append(out, Candidate{Arch: a})
		c.asked++
	}
	return out
}

// scale picks the best grid point (the first among equals) and scales it, and each
// single dimension, to the target.
func (c *Compound) scale() []spaces.Arch {
	best, bestScore := -1, math.Inf(-1)
	for i := range c.grid {
		if s := c.scores[i]; s > bestScore {
			best, bestScore = i, s
		}
	}
	out := []spaces.Arch{}
	if best < 0 {
		return out // every grid point failed: nothing to scale
	}
	k := c.grid[best]
	k.Phi = c.phiFor(k)
	out = append(out, spaces.NewScaledArch(c.base, k))
	for _, s := range singleDimension {
		k := s.c
		k.Phi = c.phiFor(k)
		out = append(out, spaces.NewScaledArch(c.base, k))
	}
	return out
}

func (c *Compound) Tell(results []Result) {
	for _, r := range results {
		x, ok := r.Arch.(spaces.ScaledArch)
		if !ok || r.Injected || x.Phi != 1 {
			continue
		}
		if i := slices.Index(c.grid, x.Coefficients); i >= 0 && x.Base().String() == c.base.String() {
			c.scores[i] = fitness(r)
		}
	}
}

type compoundState struct {
	Asked  int             `json:"asked"`
	Scores map[int]float64 `json:"scores"`
	Final  []string        `json:"final,omitempty"`
}

func (c *Compound) State() ([]byte, error) {
	st := compoundState{Asked: c.asked, Scores: map[int]float64{}}
	for i, s := range c.scores {
		st.Scores[i] = scoreOut(s)
	}
	for _, a := range c.final {
		st.Final = append(st.Final, a.String())
	}
	return json.Marshal(st)
}

func (c *Compound) Restore(state []byte) error {
	var st compoundState
	if err := restoreJSON("compound", state, &st); err != nil {
		return err
	}
	c.asked, c.scores, c.final = st.Asked, map[int]float64{}, nil
	for i, s := range st.Scores {
		c.scores[i] = scoreIn(s)
	}
	for _, s := range st.Final { // none: Ask computes them again from the scores
		a, err := c.space.Parse([]byte(s))
		if err != nil {
			return fmt.Errorf("compound snapshot: %w", err)
		}
		c.final = append(c.final, a)
	}
	return nil
}
