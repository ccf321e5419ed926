package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"cellar/datasets"
	"cellar/export"
	"cellar/nn"
	"cellar/spaces"
	"cellar/weights"
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

// A training search keeps the best trial's trained weights beside the DB; show says
// so, they score on the validation set what the trial measured, and export hands them
// on: beside the PyTorch module, and as the ONNX model's initializers.
func TestTrainedWeightsKeptAndExported(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "w.db")
	exp := writeExp(t, "name: w\nseed: 2\nspace: {name: nb201, channels: 4, cells: 1, input: [1, 28, 28]}\nstrategy: random\n"+
		"evaluator: {name: train, val: 500, subset: 256, test_size: 100, epochs: 1, batch: 32}\nbudget: {trials: 4}\n")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("search: %v\n%s", err, out)
	}
	trials := storedTrials(t, db)
	best := trials[0]
	for _, tr := range trials {
		if tr.Metrics["val_accuracy"] > best.Metrics["val_accuracy"] {
			best = tr
		}
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "w.files", "1", "weights", "*.safetensors"))
	if len(kept) != 1 || filepath.Base(kept[0]) != fmt.Sprintf("trial-%d.safetensors", best.ID) {
		t.Fatalf("kept %v; want the best trial's (%d) alone", kept, best.ID)
	}
	if out, _ := cellar(t, "show", "--db", db, fmt.Sprint(best.ID)); !strings.Contains(out, "weights:  kept") {
		t.Errorf("show does not say the weights are kept:\n%s", out)
	}
	w, err := weights.ReadFile(kept[0])
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 4, Cells: 1})
	a, _ := sp.Parse([]byte(best.Arch))
	net, _ := sp.Network(a)
	data, err := datasets.Load("mnist", "")
	if err != nil {
		t.Fatal(err)
	}
	_, val, _ := data.Split(500, 256)
	if acc, err := nn.Accuracy(context.Background(), net, w, val, 100); err != nil || acc != best.Metrics["val_accuracy"] {
		t.Errorf("the kept weights score %v (%v); the trial measured %v", acc, err, best.Metrics["val_accuracy"])
	}
	py := filepath.Join(dir, "best.py")
	if out, err := cellar(t, "export", "--db", db, "--trial", fmt.Sprint(best.ID), "-o", py); err != nil || !strings.Contains(out, "trained weights") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if got, err := weights.ReadFile(filepath.Join(dir, "best.safetensors")); err != nil || !reflect.DeepEqual(got, w) {
		t.Errorf("the weights beside the module: %v", err)
	}
	onnx := filepath.Join(dir, "best.onnx")
	if _, err := cellar(t, "export", "--db", db, "--trial", fmt.Sprint(best.ID), "--format", "onnx", "-o", onnx); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(onnx)
	var raw bytes.Buffer
	for _, v := range w["l1.weight"].Data[:4] { // the first conv's first trained values, as stored
		binary.Write(&raw, binary.LittleEndian, v)
	}
	if !bytes.Contains(b, raw.Bytes()) {
		t.Error("the onnx model does not hold the trained weights")
	}
}
