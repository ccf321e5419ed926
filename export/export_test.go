package export_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cellar/export"
	"cellar/internal/testkit"
	"cellar/nn"
	"cellar/spaces"
	"cellar/weights"
)

// testSpaces are every space, small enough to export and run quickly, and at their
// defaults for the parameter counts.
func testSpaces(t *testing.T) map[string]spaces.Space {
	t.Helper()
	nb, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	cell, err := spaces.NewCell(spaces.DefaultCell)
	if err != nil {
		t.Fatal(err)
	}
	netw, err := spaces.NewNetwork(spaces.DefaultNetwork)
	if err != nil {
		t.Fatal(err)
	}
	mnistCell, err := spaces.NewCell(spaces.CellOptions{Options: spaces.Options{Input: [3]int{1, 28, 28}, Classes: 10}, Nodes: 3, Layers: 5, Channels: 8})
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := spaces.NewScaled(nb)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]spaces.Space{"nb201": nb, "cell": cell, "network": netw, "cell-mnist": mnistCell, "scaled-nb201": scaled}
}

func network(t *testing.T, s spaces.Space, a spaces.Arch) *spaces.Net {
	t.Helper()
	net, err := s.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// Every layer kind of the IR is expressed by every format, and the spaces make no
// kind outside spaces.Kinds.
func TestEveryKindExports(t *testing.T) {
	all := spaces.Kinds()
	for _, s := range testSpaces(t) {
		rng := rand.New(rand.NewPCG(1, 1))
		for range 20 {
			for _, l := range network(t, s, s.Sample(rng)).Layers {
				if !slices.Contains(all, l.Kind) {
					t.Errorf("%s makes a %s, which spaces.Kinds does not list", s.Name(), l.Kind)
				}
			}
		}
	}
	for format, can := range export.Kinds {
		for _, k := range all {
			if !slices.Contains(can, k) {
				t.Errorf("%s cannot express %s", format, k)
			}
		}
	}
	bad := &spaces.Net{Layers: []spaces.Layer{{Kind: spaces.Input, Shape: spaces.Shape{C: 1, H: 2, W: 2}}, {ID: 1, Kind: "warp", Name: "a/b", Inputs: []int{0}}}, Output: 1}
	for _, f := range []func() ([]byte, error){
		func() ([]byte, error) { return export.PyTorch(bad, export.Meta{}) },
		func() ([]byte, error) { return export.JSON(bad, export.Meta{}) },
		func() ([]byte, error) { return export.ONNX(bad, export.Meta{}, nil) },
	} {
		if _, err := f(); err == nil || !strings.Contains(err.Error(), "layer 1 (a/b) is a warp") {
			t.Errorf("an unknown kind: %v", err)
		}
	}
}

func TestJSONDescribesTheIR(t *testing.T) {
	s := testSpaces(t)["nb201"]
	a, _ := s.Parse([]byte("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"))
	net := network(t, s, a)
	b, err := export.JSON(net, export.Meta{Space: "nb201", Arch: a.String()})
	if err != nil {
		t.Fatal(err)
	}
	var d export.Document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, l := range d.Layers {
		sum += l.Params
	}
	if d.Format != "cellar.network" || d.Version != export.JSONVersion || d.Params != 1531546 || sum != d.Params || len(d.Layers) != len(net.Layers) || d.Classes != 10 || d.Meta.Arch != a.String() {
		t.Errorf("document: format %s v%d, params %d (layers sum %d), %d layers, %d classes", d.Format, d.Version, d.Params, sum, len(d.Layers), d.Classes)
	}
}

// A trained-looking model: batch norm's running statistics warmed on a batch, so
// evaluation mode means something.
func warmModel(t *testing.T, net *spaces.Net, seed uint64) (*nn.Model, []float32) {
	t.Helper()
	m, err := nn.CompileWith(net, 4, rand.New(rand.NewPCG(seed, 7)), nn.CompileOptions{NoLoss: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 8))
	x := make([]float32, m.InputLen())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for range 30 {
		if _, err := m.Forward(x, true); err != nil {
			t.Fatal(err)
		}
	}
	return m, x
}

func writeFloats(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

type pyCase struct {
	Py      string `json:"py"`
	Params  int    `json:"params"`
	Input   [3]int `json:"input"`
	Classes int    `json:"classes"`
	ONNX    string `json:"onnx,omitempty"`
	Weights string `json:"weights,omitempty"`
	X       string `json:"x,omitempty"`
	Logits  string `json:"logits,omitempty"`
}

// The exports, checked by PyTorch and ONNX themselves: for every space, and for 200
// random NB201 archs, the module's parameter count is the IR's (NB201's the
// benchmark's) and its output has the right shape; with cellar's weights (batch norm
// statistics included) PyTorch's logits equal cellar's in evaluation mode within
// 1e-4; the ONNX model passes the checker and strict shape inference, its output is
// (N, classes) and its initializers hold the same parameter count.
func TestExportsLoadInPyTorchAndONNX(t *testing.T) {
	// Not in -short: PyTorch starts in seconds; TestEveryKindExports keeps each format
	// whole for every kind there.
	testkit.Long(t, "loads every export in PyTorch and onnx")
	py := testkit.Python(t, "torch", "onnx")
	dir := t.TempDir()
	var cases []pyCase
	add := func(tag string, s spaces.Space, a spaces.Arch, withWeights bool) {
		net := network(t, s, a)
		meta := export.Meta{Space: s.Name(), Arch: a.String()}
		src, err := export.PyTorch(net, meta)
		if err != nil {
			t.Fatal(err)
		}
		in, out := net.Layers[0].Shape, net.Layers[net.Output].Shape
		c := pyCase{Py: filepath.Join(dir, tag+".py"), Params: net.Params(), Input: [3]int{in.C, in.H, in.W}, Classes: out.C}
		if err := os.WriteFile(c.Py, src, 0o600); err != nil {
			t.Fatal(err)
		}
		if withWeights {
			m, x := warmModel(t, net, uint64(len(cases)+1))
			logits, err := m.Forward(x, false)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := m.StateDict()
			if err != nil {
				t.Fatal(err)
			}
			c.Weights, c.X, c.Logits, c.ONNX = filepath.Join(dir, tag+".safetensors"), filepath.Join(dir, tag+".x"), filepath.Join(dir, tag+".logits"), filepath.Join(dir, tag+".onnx")
			if err := weights.WriteFile(c.Weights, sd); err != nil {
				t.Fatal(err)
			}
			writeFloats(t, c.X, x)
			writeFloats(t, c.Logits, logits)
			model, err := export.ONNX(net, meta, sd)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(c.ONNX, model, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cases = append(cases, c)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for name, s := range testSpaces(t) {
		for i := range 2 {
			add(fmt.Sprintf("%s-%d", name, i), s, s.Sample(rng), true)
		}
	}
	nb := testSpaces(t)["nb201"]
	for _, arch := range []string{
		"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
		"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
	} {
		a, _ := nb.Parse([]byte(arch))
		add("nb201-"+strings.Split(arch, "~")[0][1:], nb, a, false)
	}
	for i := range 200 {
		add(fmt.Sprintf("nb201-random-%d", i), nb, nb.Sample(rng), false)
	}
	manifest := filepath.Join(dir, "manifest.json")
	b, _ := json.Marshal(cases)
	os.WriteFile(manifest, b, 0o600)
	cmd := exec.Command(py, filepath.Join("testdata", "check_exports.py"), manifest)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("checker: %d cases, the first with weights:\n%s", len(cases), firstLines(out, 3))
	sc := bufio.NewScanner(bytes.NewReader(out))
	seen := 0
	for sc.Scan() {
		var r struct {
			Py         string  `json:"py"`
			Params     int     `json:"params"`
			Shape      []int   `json:"shape"`
			OK         bool    `json:"ok"`
			MaxAbsDiff float64 `json:"max_abs_diff"`
			ONNXParams int     `json:"onnx_params"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("checker printed %q", sc.Text())
		}
		c := cases[seen]
		seen++
		if !r.OK {
			t.Errorf("%s: torch counts %d params (IR %d), output %v; logits differ by %g; onnx params %d", filepath.Base(r.Py), r.Params, c.Params, r.Shape, r.MaxAbsDiff, r.ONNXParams)
		}
		switch filepath.Base(r.Py) {
		case "nb201-nor_conv_3x3.py":
			if r.Params != 1531546 {
				t.Errorf("all-conv3x3 NB201 has %d parameters in PyTorch; the benchmark says 1,531,546", r.Params)
			}
		case "nb201-none.py":
			if r.Params != 73306 {
				t.Errorf("all-none NB201 has %d parameters in PyTorch; the benchmark says 73,306", r.Params)
			}
		}
	}
	if err != nil || seen != len(cases) {
		t.Fatalf("checker: %v after %d of %d cases:\n%s", err, seen, len(cases), stderr.String())
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
