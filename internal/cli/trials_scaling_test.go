package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"cellar/engine"
	"cellar/spaces"
)

// A compound scaling search stores its trials; trials --scaling shows them as the
// table of coefficients, multipliers, FLOPs and results, in text and JSON.
func TestCompoundScalingTable(t *testing.T) {
	exp := writeExp(t, `
name: scale
seed: 1
space: nb201
strategy: {name: compound, base: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|", target_flops: 8e8, grid: [1, 1.1, 1.2, 1.3, 1.4]}
evaluator: params
objectives: [{name: params, direction: min}]
budget: {trials: 100}
`)
	db := filepath.Join(t.TempDir(), "scale.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := cellar(t, "trials", "--db", db, "--scaling")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ROLE", "ALPHA", "PHI", "base", "grid", "compound", "depth", "width", "resolution", "3x32x32"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	js, err := cellar(t, "trials", "--db", db, "--scaling", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Scaling []engine.ScalingRow }
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatal(err)
	}
	n := len(got.Scaling)
	if n < 6 || got.Scaling[0].Role != "base" || got.Scaling[n-4].Role != "compound" {
		t.Fatalf("%d rows: %+v", n, got.Scaling)
	}
	// The multipliers shown are those the network has once rounded: a width of 1.1
	// (16 channels x 1.1 = 17.6) builds 16 channels again, x1.
	rounded := 0
	for _, r := range got.Scaling {
		if r.Beta == 1.1 && r.Phi == 1 {
			if r.Width != 1.1 || r.Effective.Width != 1 {
				t.Errorf("trial %d: width x%g, effective x%g; want x1.1 asked and x1 built", r.Trial, r.Width, r.Effective.Width)
			}
			rounded++
		}
		if r.Effective == (spaces.Scaling{}) {
			t.Errorf("trial %d has no effective scaling", r.Trial)
		}
	}
	if rounded == 0 {
		t.Error("no grid point of width 1.1: the case shows nothing")
	}
	if !strings.Contains(out, "×1.000") || !strings.Contains(out, "(the same network)") {
		t.Errorf("the table does not show the effective multipliers:\n%s", out)
	}
	for _, r := range got.Scaling[n-4:] {
		if r.FLOPs > 8e8 || r.FLOPs < 4e8 || r.Phi <= 1 {
			t.Errorf("trial %d (%s): %d FLOPs at phi %g; target 8e8", r.Trial, r.Role, r.FLOPs, r.Phi)
		}
	}
	if _, err := cellar(t, "trials", "--db", db, "--scaling", "--exp", "1"); err != nil {
		t.Error(err)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	if _, err := cellar(t, "search", "-c", writeExp(t, "name: r\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 2}\n"), "--db", other, "--no-progress"); err != nil {
		t.Fatal(err)
	}
	if _, err := cellar(t, "trials", "--db", other, "--scaling"); err == nil || !strings.Contains(err.Error(), "not a compound scaling search") {
		t.Errorf("--scaling on a random search: %v", err)
	}
}
