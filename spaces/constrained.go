package spaces

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

// Limit is an upper bound on one quantity measured on an architecture's network:
// params, FLOPs, or a latency that the caller estimates (spaces knows no hardware).
type Limit struct {
	Name    string // as in metrics and messages: params, flops, latency
	Max     float64
	Unit    string // for messages ("ms"); "" for counts
	Measure func(*Net) float64
}

// Violation says which limit an architecture breaks and by how much.
type Violation struct {
	Limit string
	Value float64
	Max   float64
	Unit  string
}

func (v Violation) Error() string {
	return fmt.Sprintf("%s %s exceeds the limit %s", v.Limit, quantity(v.Value, v.Unit), quantity(v.Max, v.Unit))
}

func quantity(v float64, unit string) string {
	if unit == "" {
		return fmt.Sprintf("%.4g", v)
	}
	return fmt.Sprintf("%.4g %s", v, unit)
}

// Measured are the values of each limit's quantity for one architecture.
func Measured(net *Net, limits []Limit) map[string]float64 {
	out := make(map[string]float64, len(limits))
	for _, l := range limits {
		out[l.Name] = l.Measure(net)
	}
	return out
}

// Violations lists the limits the values break, in the limits' order.
func Violations(values map[string]float64, limits []Limit) []Violation {
	var out []Violation
	for _, l := range limits {
		if v := values[l.Name]; v > l.Max || math.IsNaN(v) {
			out = append(out, Violation{Limit: l.Name, Value: v, Max: l.Max, Unit: l.Unit})
		}
	}
	return out
}

// Constrained is a space restricted to the architectures whose networks meet every
// limit (hardware-aware search by rejection). Sample, Mutate and Neighbours give only
// feasible archs; Validate rejects an infeasible one naming the limit it breaks.
type Constrained struct {
	Space
	// mu guards what steering may change (SetLimit) while workers check archs.
	mu     sync.RWMutex
	limits []Limit
	// fallback are feasible archs found when the space was made, for a Sample whose
	// draws keep missing a small feasible region.
	fallback []Arch
	tries    int // draws a Sample makes before it takes a fallback
}

// feasibilityProbe is how many archs Constrain draws to show that the constrained
// space is not empty.
const feasibilityProbe = 1000

// Constrain restricts s to the archs that meet every limit. It fails, naming the
// limits and the least values seen, when none of 1,000 archs drawn with rng meets
// them all: such a search could never propose a candidate.
func Constrain(s Space, limits []Limit, rng *rand.Rand) (*Constrained, error) {
	if len(limits) == 0 {
		return nil, errors.New("constraints: no limits given")
	}
	c := &Constrained{Space: s, limits: slices.Clone(limits)}
	least := make([]float64, len(limits))
	for i := range least {
		least[i] = math.Inf(1)
	}
	for range feasibilityProbe {
		a := s.Sample(rng)
		net, err := s.Network(a)
		if err != nil {
			return nil, fmt.Errorf("constraints: build %s: %w", a, err)
		}
		vals := Measured(net, limits)
		for i, l := range limits {
			least[i] = math.Min(least[i], vals[l.Name])
		}
		if len(Violations(vals, limits)) == 0 && len(c.fallback) < 32 {
			c.fallback = append(c.fallback, a)
		}
	}
	if len(c.fallback) == 0 {
		var parts []string
		for i, l := range limits {
			parts = append(parts, fmt.Sprintf("%s ≤ %s (least seen %s)", l.Name, quantity(l.Max, l.Unit), quantity(least[i], l.Unit)))
		}
		return nil, fmt.Errorf("constraints: none of %d archs sampled from %s meets %s", feasibilityProbe, s.Name(), strings.Join(parts, ", "))
	}
	c.tries = 4 * feasibilityProbe
	return c, nil
}

// SetLimit changes the bound of limit name (steering a running search). The space is
// made again under the new bounds, so it fails, leaving the space as it was, when no
// arch sampled with rng meets them.
func (c *Constrained) SetLimit(name string, max float64, rng *rand.Rand) error {
	limits := c.Limits()
	i := slices.IndexFunc(limits, func(l Limit) bool { return l.Name == name })
	if i < 0 {
		return fmt.Errorf("constraints: no %s limit to change", name)
	}
	limits[i].Max = max
	n, err := Constrain(c.Space, limits, rng)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limits, c.fallback, c.tries = n.limits, n.fallback, n.tries
	return nil
}

// Unwrap is the space without its constraints.
func (c *Constrained) Unwrap() Space { return c.Space }

// Limits are the constraints, in the order given.
func (c *Constrained) Limits() []Limit {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.limits)
}

// Check returns the first limit a breaks, as a Violation, or nil.
func (c *Constrained) Check(a Arch) error {
	net, err := c.Space.Network(a)
	if err != nil {
		return err
	}
	limits := c.Limits()
	if v := Violations(Measured(net, limits), limits); len(v) > 0 {
		return v[0]
	}
	return nil
}

func (c *Constrained) feasible(a Arch) bool { return c.Check(a) == nil }

// Sample draws from the space until an arch is feasible. Uniform over the feasible
// archs, as rejection sampling is; after many misses it takes one of the feasible
// archs found when the space was made, so that it always returns.
func (c *Constrained) Sample(rng *rand.Rand) Arch {
	c.mu.RLock()
	tries, fallback := c.tries, c.fallback
	c.mu.RUnlock()
	for range tries {
		if a := c.Space.Sample(rng); c.feasible(a) {
			return a
		}
	}
	return fallback[rng.IntN(len(fallback))]
}

// Mutate draws mutations of a until one is feasible; failing that it takes a
// feasible neighbour at random, and failing that a feasible sample.
func (c *Constrained) Mutate(a Arch, rng *rand.Rand) Arch {
	for range 50 {
		if m := c.Space.Mutate(a, rng); c.feasible(m) {
			return m
		}
	}
	if ns := c.Neighbours(a); len(ns) > 0 {
		return ns[rng.IntN(len(ns))]
	}
	return c.Sample(rng)
}

// Neighbours are the feasible archs one step from a, in the space's order.
func (c *Constrained) Neighbours(a Arch) []Arch {
	var out []Arch
	for _, n := range c.Space.Neighbours(a) {
		if c.feasible(n) {
			out = append(out, n)
		}
	}
	return out
}

// Validate checks a against the space, then against the limits.
func (c *Constrained) Validate(a Arch) error {
	if err := c.Space.Validate(a); err != nil {
		return err
	}
	return c.Check(a)
}

// Base is the space under any wrappers (such as Constrained): the one whose concrete
// type says what else it offers (OneShot, Tokenizer).
func Base(s Space) Space {
	for {
		w, ok := s.(interface{ Unwrap() Space })
		if !ok {
			return s
		}
		s = w.Unwrap()
	}
}
