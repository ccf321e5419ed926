package engine

import "testing"

func TestConstraintsLabel(t *testing.T) {
	c := &Constraints{Params: 1e6, Latency: 12.5, Mode: "penalize", Penalty: 1}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Label(), "latency ≤ 12.5 ms, params ≤ 1e+06 (penalise)"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
}
