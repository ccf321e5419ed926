package export

import (
	"bytes"
	"fmt"
	"strings"

	"cellar/spaces"
)

// PyTorch is net as one self-contained Python file: an nn.Module, CellarNet, with the
// IR's layers in the IR's order (layer ID i is attribute l{i} where it has
// parameters), a forward pass that follows the IR's DAG, and load_cellar_weights,
// which reads a safetensors file of the module's state_dict with the standard library
// and torch alone. It imports nothing of cellar.
func PyTorch(net *spaces.Net, meta Meta) ([]byte, error) {
	if err := check(net, "pytorch"); err != nil {
		return nil, err
	}
	in := net.Layers[0].Shape
	var b bytes.Buffer
	fmt.Fprintf(&b, `"""A network exported by cellar from its IR.

space: %s
arch:  %s
input: %d x %d x %d; parameters: %d; multiply-adds per sample: %d
%s
Build it with CellarNet(); load trained weights with load_cellar_weights(model, path).
Layer l{i} is the IR's layer i; the comment beside each names where it sits.
"""

import json
import struct

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (%d, %d, %d)


class FactorizedReduce(nn.Module):
    """ReLU, then two 1x1 stride-2 convs to half the channels each, the second on the
    input shifted by one pixel (zeros past the edge), concatenated (DARTS)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout // 2, 1, stride=2, bias=False)
        self.conv2 = nn.Conv2d(cin, cout // 2, 1, stride=2, bias=False)

    def forward(self, x):
        x = F.relu(x)
        return torch.cat([self.conv1(x), self.conv2(F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1)))], dim=1)


class CellarNet(nn.Module):
    def __init__(self):
        super().__init__()
`, meta.Space, meta.Arch, in.C, in.H, in.W, net.Params(), net.FLOPs(), trialLine(meta), in.C, in.H, in.W)
	for _, l := range net.Layers {
		if m := module(net, l); m != "" {
			fmt.Fprintf(&b, "        self.l%d = %s  # %s\n", l.ID, m, l.Name)
		}
	}
	b.WriteString("\n    def forward(self, x):\n        t0 = x\n")
	for _, l := range net.Layers[1:] {
		fmt.Fprintf(&b, "        t%d = %s\n", l.ID, expr(net, l))
	}
	fmt.Fprintf(&b, "        return t%d\n", net.Output)
	b.WriteString(loader)
	return b.Bytes(), nil
}

func trialLine(m Meta) string {
	if m.Trial == 0 {
		return ""
	}
	return fmt.Sprintf("trial: %d of experiment %d\n", m.Trial, m.Experiment)
}

// pyKind is how PyTorch code expresses a layer kind: the nn.Module it becomes, when it
// has parameters or state, and the expression of its output from its inputs' tensors.
type pyKind struct {
	module func(l spaces.Layer, cin int) string // nil: no module
	expr   func(net *spaces.Net, l spaces.Layer, t func(i int) string) string
}

// pytorchKinds expresses each layer kind of the IR in PyTorch; a kind missing here is
// a test failure (TestEveryKindExports).
var pytorchKinds = map[spaces.Kind]pyKind{
	spaces.Input: {expr: func(*spaces.Net, spaces.Layer, func(int) string) string { return "x" }},
	spaces.Conv: {
		module: func(l spaces.Layer, cin int) string {
			return fmt.Sprintf("nn.Conv2d(%d, %d, %d, stride=%d, padding=%d, dilation=%d, groups=%d, bias=%s)",
				cin, l.OutC, l.Kernel, l.Stride, l.Pad, l.Dilation, l.Groups, pyBool(l.Bias))
		},
		expr: ownModule,
	},
	spaces.BatchNorm: {
		module: func(l spaces.Layer, _ int) string {
			return fmt.Sprintf("nn.BatchNorm2d(%d, eps=1e-05, momentum=0.1, affine=%s)", l.Shape.C, pyBool(l.Affine))
		},
		expr: ownModule,
	},
	spaces.FactReduce: {
		module: func(l spaces.Layer, cin int) string { return fmt.Sprintf("FactorizedReduce(%d, %d)", cin, l.OutC) },
		expr:   ownModule,
	},
	spaces.Linear: {
		module: func(l spaces.Layer, cin int) string {
			return fmt.Sprintf("nn.Linear(%d, %d, bias=%s)", cin, l.OutC, pyBool(l.Bias))
		},
		expr: func(net *spaces.Net, l spaces.Layer, t func(int) string) string {
			if l.ID == net.Output {
				return fmt.Sprintf("self.l%d(%s.flatten(1))", l.ID, t(0))
			}
			return fmt.Sprintf("self.l%d(%s.flatten(1))[:, :, None, None]", l.ID, t(0))
		},
	},
	spaces.ReLU: {expr: func(_ *spaces.Net, _ spaces.Layer, t func(int) string) string { return fmt.Sprintf("F.relu(%s)", t(0)) }},
	spaces.MaxPool: {expr: func(_ *spaces.Net, l spaces.Layer, t func(int) string) string {
		return fmt.Sprintf("F.max_pool2d(%s, %d, stride=%d, padding=%d)", t(0), l.Kernel, l.Stride, l.Pad)
	}},
	spaces.AvgPool: {expr: func(_ *spaces.Net, l spaces.Layer, t func(int) string) string {
		return fmt.Sprintf("F.avg_pool2d(%s, %d, stride=%d, padding=%d, count_include_pad=False)", t(0), l.Kernel, l.Stride, l.Pad)
	}},
	spaces.GlobalPool: {expr: func(_ *spaces.Net, _ spaces.Layer, t func(int) string) string {
		return fmt.Sprintf("F.adaptive_avg_pool2d(%s, 1)", t(0))
	}},
	spaces.Add: {expr: func(_ *spaces.Net, l spaces.Layer, t func(int) string) string {
		return strings.Join(inputs(l, t), " + ")
	}},
	spaces.Concat: {expr: func(_ *spaces.Net, l spaces.Layer, t func(int) string) string {
		return fmt.Sprintf("torch.cat([%s], dim=1)", strings.Join(inputs(l, t), ", "))
	}},
	spaces.Zero: {expr: func(_ *spaces.Net, l spaces.Layer, t func(int) string) string {
		s := l.Shape
		return fmt.Sprintf("%s.new_zeros(%s.shape[0], %d, %d, %d)", t(0), t(0), s.C, s.H, s.W)
	}},
	spaces.Identity: {expr: func(_ *spaces.Net, _ spaces.Layer, t func(int) string) string { return t(0) }},
}

// ownModule is the output of the layer's own module, self.l{ID}, on its input.
func ownModule(_ *spaces.Net, l spaces.Layer, t func(int) string) string {
	return fmt.Sprintf("self.l%d(%s)", l.ID, t(0))
}

// inputs are the tensors of every input of l.
func inputs(l spaces.Layer, t func(int) string) []string {
	parts := make([]string, len(l.Inputs))
	for i := range parts {
		parts[i] = t(i)
	}
	return parts
}

// module is the nn.Module a layer with parameters (or state) becomes, or "".
func module(net *spaces.Net, l spaces.Layer) string {
	k := pytorchKinds[l.Kind]
	if k.module == nil {
		return ""
	}
	cin := 0
	if len(l.Inputs) > 0 {
		cin = net.Layers[l.Inputs[0]].Shape.C
	}
	return k.module(l, cin)
}

// expr is the Python expression of a layer's output, from its inputs' tensors.
func expr(net *spaces.Net, l spaces.Layer) string {
	k := pytorchKinds[l.Kind]
	if k.expr == nil {
		return "None" // unreachable: check refused other kinds
	}
	return k.expr(net, l, func(i int) string { return fmt.Sprintf("t%d", l.Inputs[i]) })
}

func pyBool(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

// loader reads a safetensors file (an 8-byte little-endian header length, a JSON
// header, raw little-endian F32 tensors) with the standard library and torch only.
const loader = `

def read_safetensors(path):
    """The tensors of a safetensors file of F32 tensors, by name."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {e['dtype']}; expected F32")
        lo, hi = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.float32)
        out[name] = t.reshape(e["shape"]).clone()
    return out


def load_cellar_weights(model, path):
    """Loads the weights cellar saved for this network (its state_dict, batch-norm
    running statistics included) into model, and returns it. Every tensor of the file
    must fit a tensor of the model, and every tensor of the model but the batch norms'
    step counters must be in the file."""
    state = read_safetensors(path)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return model


if __name__ == "__main__":
    net = CellarNet().eval()
    print(net(torch.zeros(2, *INPUT_SHAPE)).shape, sum(p.numel() for p in net.parameters()), "parameters")
`
