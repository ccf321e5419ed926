package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// The Go sampler and the gorgonia graph compute the same policy: the graph's
// entropy of a sequence equals the one worked out from Probs, before and after
// updates.
func TestControllerGraphMatchesSampler(t *testing.T) {
	sizes := []int{3, 4, 2, 5}
	c, err := NewController(sizes, 8, 0.05, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for step := 0; step < 5; step++ {
		tokens := c.Sample(rng)
		var want float64
		for s := range sizes {
			for _, p := range c.Probs(tokens[:s]) {
				if p > 0 {
					want -= p * math.Log(p)
				}
			}
		}
		got, err := c.Update(tokens, 0, 0) // advantage 0: a pass without a change
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-4 {
			t.Fatalf("step %d: graph entropy %v, sampler's %v", step, got, want)
		}
		if _, err := c.Update(tokens, 1, 0.01); err != nil { // a real step
			t.Fatal(err)
		}
	}
}

// Rewarding one choice moves the policy toward it.
func TestControllerLearnsRewardedToken(t *testing.T) {
	c, err := NewController([]int{5, 5, 5}, 16, 0.05, 2)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	before := c.Probs(nil)[3]
	baseline := 0.0
	for i := 0; i < 150; i++ {
		tokens := c.Sample(rng)
		reward := 0.0
		if tokens[0] == 3 && tokens[2] == 1 {
			reward = 1
		}
		if _, err := c.Update(tokens, reward-baseline, 1e-4); err != nil {
			t.Fatal(err)
		}
		baseline = 0.9*baseline + 0.1*reward
	}
	if after := c.Probs(nil)[3]; after < 0.8 || after <= before {
		t.Errorf("P(first token = 3) %.3f before, %.3f after 150 rewarded steps", before, after)
	}
}

// A snapshot restores weights and optimiser exactly: both continue identically.
func TestControllerSnapshot(t *testing.T) {
	a, _ := NewController([]int{3, 3}, 4, 0.05, 3)
	rng := rand.New(rand.NewPCG(3, 3))
	for range 5 {
		a.Update(a.Sample(rng), 1, 0.01)
	}
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewController([]int{3, 3}, 4, 0.05, 99)
	if err := json.Unmarshal(raw, b); err != nil {
		t.Fatal(err)
	}
	toks := []int{2, 1}
	a.Update(toks, 0.5, 0.01)
	b.Update(toks, 0.5, 0.01)
	pa, pb := a.Probs([]int{2}), b.Probs([]int{2})
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatalf("restored controller diverges: %v vs %v", pa, pb)
		}
	}
	wrong, _ := NewController([]int{3, 4}, 4, 0.05, 3)
	if err := json.Unmarshal(raw, wrong); err == nil {
		t.Error("a snapshot of another shape was accepted")
	}
}
