package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cellar/export"
)

// export writes a stored trial's network in each format, and an arch of a space
// without a DB; every bad request is an error that says what was wrong.
func TestExportTrialsAndArchs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "e.db")
	exp := writeExp(t, "name: e\nseed: 3\nspace: {name: nb201, channels: 8, cells: 1}\nstrategy: random\nevaluator: params\nbudget: {trials: 3}\n")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	show, err := cellar(t, "show", "--db", db, "2")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cellar(t, "export", "--db", db, "--trial", "2", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var d export.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("json export: %v\n%.300s", err, out)
	}
	if d.Meta.Trial != 2 || d.Meta.Space != "nb201" || d.Meta.SpaceOptions["channels"] != 8.0 || !strings.Contains(show, d.Meta.Arch) || !strings.Contains(show, fmt.Sprintf("params=%d", d.Params)) {
		t.Errorf("json export: %+v (show says %s)", d.Meta, show)
	}
	py := filepath.Join(dir, "model.py")
	if _, err := cellar(t, "export", "--db", db, "--trial", "2", "-o", py); err != nil {
		t.Fatal(err)
	}
	if src, _ := os.ReadFile(py); !strings.Contains(string(src), "class CellarNet(nn.Module)") || !strings.Contains(string(src), d.Meta.Arch) {
		t.Errorf("pytorch export:\n%.400s", src)
	}
	onnx := filepath.Join(dir, "model.onnx")
	if _, err := cellar(t, "export", "--db", db, "--trial", "2", "--format", "onnx", "-o", onnx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(onnx); len(b) < 4*d.Params {
		t.Errorf("onnx export of %d bytes for %d parameters", len(b), d.Params)
	}
	arch := "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
	if out, err := cellar(t, "export", "--space", "nb201", "--arch", arch, "--format", "json"); err != nil || !strings.Contains(out, `"params": 1531546`) {
		t.Errorf("an arch of nb201 at its defaults: %v\n%.200s", err, out)
	}
	// A trial that failed (its arch is not in a one-row table) is no network to export.
	failing := filepath.Join(dir, "f.db")
	table := filepath.Join(dir, "one.csv")
	os.WriteFile(table, []byte("arch,acc\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10\n"), 0o600)
	fexp := writeExp(t, "name: f\nseed: 3\nspace: nb201\nstrategy: random\nevaluator: {name: table, path: "+table+"}\nbudget: {trials: 1}\n")
	if out, err := cellar(t, "search", "-c", fexp, "--db", failing, "--no-progress"); err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", failing, "--trial", "1"}, "trial 1 of experiment 1 failed (arch"},
		{[]string{"--db", db, "--trial", "9"}, "trial 9"},
		{[]string{"--db", db}, "needs both --db F and --trial ID"},
		{[]string{"--db", db, "--trial", "1", "--format", "keras"}, `--format "keras": pytorch, json or onnx`},
		{[]string{"--db", db, "--trial", "1", "--arch", arch}, "not both"},
		{[]string{"--arch", arch}, "--arch needs its space"},
		{[]string{"--space", "nb201", "--arch", "|conv9x9~0|"}, "arch:"},
		{[]string{"--space", "mystery", "--arch", arch}, `unknown space "mystery"`},
		{[]string{"--db", filepath.Join(dir, "none.db"), "--trial", "1"}, "none.db"},
		{[]string{}, "give a stored trial"},
	} {
		if _, err := cellar(t, append([]string{"export"}, c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("export %v: %v; want an error with %q", c.args, err, c.want)
		}
	}
}
