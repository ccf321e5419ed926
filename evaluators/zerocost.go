package evaluators

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"

	"cellar/datasets"
	"cellar/engine"
	"cellar/proxies"
	"cellar/spaces"
)

// ZeroCostOptions configure the zerocost evaluator.
type ZeroCostOptions struct {
	Proxies []string `yaml:"proxies"` // one or more of proxies.Names() (synflow)
	Data    string   `yaml:"data"`    // mnist (built in, fitted to the space's input) or noise
	Batch   int      `yaml:"batch"`   // inputs of the data-dependent proxies (64)
	Seed    uint64   `yaml:"seed"`    // the batch and every network's initialisation (1)
	// Reference is how many random archs of the space are scored up front when there
	// are several proxies, to rank each arch's scores against (100).
	Reference int `yaml:"reference"`
}

// ZeroCost scores an architecture without training it, by zero-cost proxies. Its
// metrics are each proxy's score, params and flops; with several proxies, first
// "zerocost", their rank combination: for each proxy the fraction of a fixed random
// reference sample of the space that the arch scores above (ties count half),
// averaged over the proxies. Ranks make scales as different as synflow's log and
// naswot's comparable, and a fixed reference keeps each arch's score its own.
type ZeroCost struct {
	space     spaces.Space
	opt       ZeroCostOptions
	batch     proxies.Batch
	reference map[string][]float64 // proxy -> sorted scores of the reference sample
}

// DefaultZeroCost are the defaults; the config decodes onto them, so an explicit
// value, zero included (seed: 0), is kept.
var DefaultZeroCost = ZeroCostOptions{Proxies: []string{"synflow"}, Batch: 64, Seed: 1, Reference: 100}

// NewZeroCost prepares the batch and, for a rank combination, scores the reference
// sample. opt is complete: start from DefaultZeroCost.
func NewZeroCost(ctx context.Context, space spaces.Space, opt ZeroCostOptions) (*ZeroCost, error) {
	if len(opt.Proxies) == 0 {
		return nil, fmt.Errorf("zerocost: give at least one proxy (e.g. proxies: [synflow])")
	}
	names, err := proxies.Check(opt.Proxies)
	if err != nil {
		return nil, fmt.Errorf("zerocost: %w", err)
	}
	opt.Proxies = names
	if opt.Batch < 1 || opt.Reference < 2 {
		return nil, fmt.Errorf("zerocost: batch %d and reference %d must be at least 1 and 2", opt.Batch, opt.Reference)
	}
	// The space's input shape and classes, from any of its networks.
	probe, err := space.Network(space.Sample(rand.New(rand.NewPCG(opt.Seed, 0))))
	if err != nil {
		return nil, fmt.Errorf("zerocost: %w", err)
	}
	in, classes := probe.Layers[0].Shape, probe.Layers[probe.Output].Shape.C
	shape := [3]int{in.C, in.H, in.W}
	z := &ZeroCost{space: space, opt: opt}
	switch opt.Data {
	case "", "mnist":
		d, err := datasets.Load("mnist", "")
		if err != nil {
			return nil, fmt.Errorf("zerocost: %w", err)
		}
		if z.batch, err = proxies.DatasetBatch(d.Train, opt.Batch, shape, opt.Seed); err != nil {
			return nil, fmt.Errorf("zerocost: %w", err)
		}
		z.batch = z.batch.WithClasses(classes)
	case "noise":
		z.batch = proxies.NoiseBatch(opt.Batch, shape, classes, opt.Seed)
	default:
		return nil, fmt.Errorf("zerocost: data %q: mnist or noise", opt.Data)
	}
	if len(names) > 1 {
		if err := z.scoreReference(ctx); err != nil {
			return nil, err
		}
	}
	return z, nil
}

func (z *ZeroCost) scoreReference(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(z.opt.Seed, 0x7e7e))
	z.reference = map[string][]float64{}
	for range z.opt.Reference {
		if err := ctx.Err(); err != nil {
			return err
		}
		net, err := z.space.Network(z.space.Sample(rng))
		if err != nil {
			return fmt.Errorf("zerocost reference: %w", err)
		}
		s, err := proxies.Score(z.opt.Proxies, net, z.batch, z.opt.Seed)
		if err != nil {
			return fmt.Errorf("zerocost reference: %w", err)
		}
		for _, p := range z.opt.Proxies {
			z.reference[p] = append(z.reference[p], s[p])
		}
	}
	for _, v := range z.reference {
		sort.Float64s(v)
	}
	return nil
}

// Metrics lists zerocost (with several proxies), each proxy, params and flops.
func (z *ZeroCost) Metrics() []string {
	var m []string
	if len(z.opt.Proxies) > 1 {
		m = append(m, "zerocost")
	}
	m = append(m, z.opt.Proxies...)
	for _, s := range []string{"params", "flops"} {
		if !slices.Contains(m, s) {
			m = append(m, s)
		}
	}
	return m
}

// Evaluate scores arch.
func (z *ZeroCost) Evaluate(ctx context.Context, job engine.Job, _ func(engine.Progress)) (engine.Outcome, error) {
	arch := job.Arch
	if err := ctx.Err(); err != nil {
		return engine.Outcome{}, err
	}
	net, err := z.space.Network(arch)
	if err != nil {
		return engine.Outcome{}, err
	}
	names := append(slices.Clone(z.opt.Proxies), "params", "flops")
	s, err := proxies.Score(names, net, z.batch, z.opt.Seed)
	if err != nil {
		return engine.Outcome{}, err
	}
	if len(z.opt.Proxies) > 1 {
		var sum float64
		for _, p := range z.opt.Proxies {
			sum += beaten(z.reference[p], s[p])
		}
		s["zerocost"] = sum / float64(len(z.opt.Proxies))
	}
	return engine.Outcome{Metrics: s}, nil
}

// beaten is the fraction of the sorted reference scores below v, ties counting half.
func beaten(ref []float64, v float64) float64 {
	below := sort.SearchFloat64s(ref, v)
	upTo := sort.Search(len(ref), func(i int) bool { return ref[i] > v })
	return (float64(below) + float64(upTo-below)/2) / float64(len(ref))
}
