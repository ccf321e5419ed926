package latency

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"cellar/spaces"
)

// testNets draws n random archs of each space at its defaults.
func testNets(t *testing.T, n int, seed uint64) []*spaces.Net {
	t.Helper()
	nb, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 12, 12}, Classes: 10}, Channels: 4, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	cell, err := spaces.NewCell(spaces.DefaultCell)
	if err != nil {
		t.Fatal(err)
	}
	var out []*spaces.Net
	rng := rand.New(rand.NewPCG(seed, seed))
	for _, sp := range []spaces.Space{nb, cell} {
		for range n {
			net, err := sp.Network(sp.Sample(rng))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, net)
		}
	}
	return out
}

// additive is a timer whose time is exactly a per-kind linear function of each
// layer's work plus a fixed overhead, with repeated parameter-free layers counted
// once, as a compiled graph runs them: the model Table assumes, so Table must
// reproduce it.
func additive(net *spaces.Net) (time.Duration, error) {
	total := 0.25 // ms of overhead
	for _, l := range timed(net) {
		total += 0.01*float64(len(l.Kind)) + 1e-6*work(net, l.Layer)
	}
	return time.Duration(total * float64(time.Millisecond)), nil
}

func TestEstimateSumsTheTable(t *testing.T) {
	nets := testNets(t, 20, 1)
	tab, err := Build(context.Background(), nil, nets, additive, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Overhead < 0.24 || tab.Overhead > 0.26 {
		t.Errorf("overhead %.4f ms, want 0.25", tab.Overhead)
	}
	for i, net := range nets {
		want, _ := additive(net)
		e := tab.Estimate(net)
		if e.Hits != e.Layers {
			t.Errorf("net %d: %d of %d layers in the table it was built from", i, e.Hits, e.Layers)
		}
		if math.Abs(e.MS-ms(want)) > 1e-3*ms(want) {
			t.Errorf("net %d: estimate %.4f ms, timer %.4f ms", i, e.MS, ms(want))
		}
	}
}

// Layers missing from the table are modelled per kind from the entries it holds;
// with a timer linear in each kind's work the model is exact.
func TestMissingLayersAreModelled(t *testing.T) {
	tab, err := Build(context.Background(), nil, testNets(t, 30, 1), additive, nil)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 20, 20}, Classes: 10}, Channels: 6, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range 10 {
		net, err := wide.Network(wide.Sample(rng))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := additive(net)
		e := tab.Estimate(net)
		if e.Hits == e.Layers {
			t.Fatalf("net %d: every layer in the table; the test needs unseen shapes", i)
		}
		if math.Abs(e.MS-ms(want)) > 0.02*ms(want) {
			t.Errorf("net %d: estimate %.4f ms, timer %.4f ms (%d/%d layers in the table)", i, e.MS, ms(want), e.Hits, e.Layers)
		}
	}
}

// Every layer's probe computes the layer's output shape, and its key rebuilds a
// layer of the same kind and work (what the model of missing layers reads).
func TestKeysRoundTrip(t *testing.T) {
	for _, net := range testNets(t, 10, 3) {
		for _, l := range net.Layers {
			k, ok := Key(net, l)
			if !ok {
				continue
			}
			p, err := Probe(net, l)
			if err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if got := p.Layers[p.Output].Shape; got != l.Shape {
				t.Errorf("%s: probe gives %v, layer %v", k, got, l.Shape)
			}
			rn, rl, err := layerOfKey(k)
			if err != nil {
				t.Fatal(err)
			}
			// A concat is rebuilt as one input of all the channels: the same work.
			if k2, _ := Key(rn, rl); k2 != k && l.Kind != spaces.Concat {
				t.Errorf("key %q rebuilt as %q", k, k2)
			}
			if rl.Kind != l.Kind || work(rn, rl) != work(net, l) {
				t.Errorf("key %q: rebuilt %s of work %v, layer %s of work %v", k, rl.Kind, work(rn, rl), l.Kind, work(net, l))
			}
		}
	}
}

func TestBuildKeepsEarlierEntries(t *testing.T) {
	calls := 0
	counting := func(n *spaces.Net) (time.Duration, error) { calls++; return additive(n) }
	first, err := Build(context.Background(), nil, testNets(t, 5, 1), counting, nil)
	if err != nil {
		t.Fatal(err)
	}
	calls = 0
	again, err := Build(context.Background(), first, testNets(t, 5, 1), counting, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1+calibrations || len(again.Ops) != len(first.Ops) {
		t.Errorf("rebuild over the same nets timed %d networks (want only the empty pass and %d calibrations) and has %d ops (had %d)", calls, calibrations, len(again.Ops), len(first.Ops))
	}
}

// A whole network that runs its layers faster than they run alone (shared per-pass
// costs) is caught by the calibrated scale.
func TestScaleCalibratesWholeNetworks(t *testing.T) {
	shared := func(net *spaces.Net) (time.Duration, error) {
		d, _ := additive(net)
		if len(net.Layers) <= 2 { // a probe: one layer on the input
			return d, nil
		}
		over := 0.25 * float64(time.Millisecond)
		return time.Duration(over + 0.6*(float64(d)-over)), nil
	}
	nets := testNets(t, 20, 1)
	tab, err := Build(context.Background(), nil, nets, shared, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tab.Scale-0.6) > 1e-3 {
		t.Errorf("scale %.4f, want 0.6", tab.Scale)
	}
	for i, net := range testNets(t, 5, 7) {
		want, _ := shared(net)
		if e := tab.Estimate(net).MS; math.Abs(e-ms(want)) > 1e-2*ms(want) {
			t.Errorf("net %d: estimate %.4f ms, measured %.4f ms", i, e, ms(want))
		}
	}
}
