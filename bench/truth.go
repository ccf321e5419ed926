package bench

import (
	"fmt"
	"math/rand/v2"

	"cellar/evaluators"
	"cellar/groundtruth"
	"cellar/spaces"
)

// Truth is what a ranking is measured against: archs, each one's true accuracy and
// its parameter count (for the params proxy's row beside it).
type Truth struct {
	Archs  []spaces.Arch
	Acc    []float64
	Params []float64
	// Against names the accuracy in a sentence, Column in a CSV header; Source
	// names where it came from.
	Against, Column, Source string
}

// SampleTable draws a seeded sample of n distinct archs of a table's space, each with
// the table's first metric; path names the table in errors.
func SampleTable(sp spaces.Space, t *evaluators.Table, path string, n int, seed uint64) ([]spaces.Arch, []float64, error) {
	if n < 3 || n > t.Len() {
		return nil, nil, fmt.Errorf("--n %d: from 3 to the table's %d archs", n, t.Len())
	}
	metric := t.Metrics()[0]
	rng := rand.New(rand.NewPCG(seed, seed))
	seen := map[string]bool{}
	var archs []spaces.Arch
	var truth []float64
	for len(archs) < n {
		a := sp.Sample(rng)
		if seen[a.String()] {
			continue
		}
		seen[a.String()] = true
		vals, ok := t.Lookup(a)
		if !ok {
			return nil, nil, fmt.Errorf("arch %s is not in %s", a, path)
		}
		archs, truth = append(archs, a), append(truth, vals[metric])
	}
	return archs, truth, nil
}

// TableTruth is n archs sampled from the table at path (nb201: the built-in one).
func TableTruth(sp spaces.Space, path string, n int, seed uint64) (Truth, error) {
	t, err := evaluators.LoadTable(path, sp, "")
	if err != nil {
		return Truth{}, err
	}
	archs, acc, err := SampleTable(sp, t, path, n, seed)
	if err != nil {
		return Truth{}, err
	}
	params, err := paramsOf(sp, archs, false)
	if err != nil {
		return Truth{}, err
	}
	m := t.Metrics()[0]
	return Truth{Archs: archs, Acc: acc, Params: params, Against: m, Column: m, Source: fmt.Sprintf("%s (seed %d)", path, seed)}, nil
}

// GroundTruth is every finished arch of a table cellar bench groundtruth trained, with
// its mean accuracy over seeds.
func GroundTruth(sp spaces.Space, path string) (Truth, error) {
	rows, err := groundtruth.Load(path)
	if err != nil {
		return Truth{}, err
	}
	if len(rows) < 3 {
		return Truth{}, fmt.Errorf("--groundtruth %s: %d archs; need at least 3", path, len(rows))
	}
	t := Truth{Against: "its trained accuracy", Column: "accuracy", Source: path}
	for i, r := range rows {
		a, err := sp.Parse([]byte(r.Arch))
		if err != nil {
			return Truth{}, fmt.Errorf("--groundtruth %s: arch %d: %w", path, i+1, err)
		}
		if len(r.Acc) == 0 {
			return Truth{}, fmt.Errorf("--groundtruth %s: %s has no accuracy yet (finish it with cellar bench groundtruth)", path, r.Arch)
		}
		t.Archs, t.Acc, t.Params = append(t.Archs, a), append(t.Acc, r.Mean()), append(t.Params, float64(r.Params))
	}
	return t, nil
}

// LiveParams are each arch's params the output depends on (spaces.Net.LiveParams) at
// the skeleton sp builds. Params counts the convs of edges the cell's output cannot
// see too, which makes archs of one function differ.
func LiveParams(sp spaces.Space, archs []spaces.Arch) ([]float64, error) {
	return paramsOf(sp, archs, true)
}

func paramsOf(sp spaces.Space, archs []spaces.Arch, live bool) ([]float64, error) {
	out := make([]float64, len(archs))
	for i, a := range archs {
		net, err := sp.Network(a)
		if err != nil {
			return nil, err
		}
		if live {
			out[i] = float64(net.LiveParams())
		} else {
			out[i] = float64(net.Params())
		}
	}
	return out, nil
}
