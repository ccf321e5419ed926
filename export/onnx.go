package export

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"cellar/spaces"
	"cellar/weights"
)

// ONNXOpset is the operator set the ONNX form uses (Slice, Pad and Sum as of 13).
const ONNXOpset = 13

// ONNX is net as an ONNX model (IR version 7, opset 13): input "input" of shape
// (N, C, H, W) with N free, output "logits", every parameter and batch-norm running
// statistic an initializer taken from w (a state_dict-named set, as PyTorch's); a
// tensor w lacks is an error naming it. The file is written with protowire from the
// ONNX schema's field numbers (onnx.proto3), so no ONNX library is needed.
func ONNX(net *spaces.Net, meta Meta, w weights.Set) ([]byte, error) {
	if err := check(net, "onnx"); err != nil {
		return nil, err
	}
	g := &onnxGraph{w: w}
	for _, l := range net.Layers[1:] {
		if err := g.layer(net, l); err != nil {
			return nil, fmt.Errorf("export onnx: layer %d (%s): %w", l.ID, l.Name, err)
		}
	}
	in, out := net.Layers[0].Shape, net.Layers[net.Output]
	outDims := []int64{-1, int64(out.Shape.C), int64(out.Shape.H), int64(out.Shape.W)}
	if out.Kind == spaces.Linear {
		outDims = outDims[:2]
	}
	g.node("Identity", []string{name(net.Output)}, []string{"logits"}, "logits")

	var graph []byte
	for _, n := range g.nodes {
		graph = protowire.AppendTag(graph, 1, protowire.BytesType)
		graph = protowire.AppendBytes(graph, n)
	}
	graph = appendString(graph, 2, "cellar")
	for _, t := range g.inits {
		graph = protowire.AppendTag(graph, 5, protowire.BytesType)
		graph = protowire.AppendBytes(graph, t)
	}
	graph = appendMessage(graph, 11, valueInfo("input", []int64{-1, int64(in.C), int64(in.H), int64(in.W)}))
	graph = appendMessage(graph, 12, valueInfo("logits", outDims))

	var model []byte
	model = protowire.AppendTag(model, 1, protowire.VarintType) // ir_version
	model = protowire.AppendVarint(model, 7)
	model = appendString(model, 2, "cellar") // producer_name
	model = appendString(model, 6, fmt.Sprintf("%s %s", meta.Space, meta.Arch))
	model = appendMessage(model, 7, graph)
	var opset []byte
	opset = appendString(opset, 1, "")
	opset = protowire.AppendTag(opset, 2, protowire.VarintType)
	opset = protowire.AppendVarint(opset, ONNXOpset)
	model = appendMessage(model, 8, opset)
	return model, nil
}

func name(id int) string { return fmt.Sprintf("t%d", id) }

type onnxGraph struct {
	w      weights.Set
	nodes  [][]byte
	inits  [][]byte
	consts int
}

// onnxLayer is one IR layer to express: its inputs' names (the network's input is
// "input"), its output's name t{ID} and the prefix of its weights' names.
type onnxLayer struct {
	spaces.Layer
	net      *spaces.Net
	ins      []string
	out, key string
}

// onnxKinds expresses each layer kind of the IR as ONNX nodes; a kind missing here is
// a test failure (TestEveryKindExports).
var onnxKinds = map[spaces.Kind]func(g *onnxGraph, l onnxLayer) error{
	spaces.Conv:       (*onnxGraph).conv,
	spaces.BatchNorm:  (*onnxGraph).batchNorm,
	spaces.ReLU:       func(g *onnxGraph, l onnxLayer) error { return g.unary("Relu", l, "relu") },
	spaces.MaxPool:    (*onnxGraph).pool,
	spaces.AvgPool:    (*onnxGraph).pool,
	spaces.GlobalPool: func(g *onnxGraph, l onnxLayer) error { return g.unary("GlobalAveragePool", l, "gap") },
	spaces.Add:        func(g *onnxGraph, l onnxLayer) error { return g.unary("Sum", l, "sum") },
	spaces.Concat:     (*onnxGraph).concat,
	spaces.Identity:   func(g *onnxGraph, l onnxLayer) error { return g.unary("Identity", l, "identity") },
	spaces.Zero:       (*onnxGraph).zero,
	spaces.FactReduce: (*onnxGraph).factReduce,
	spaces.Linear:     (*onnxGraph).linear,
	spaces.Input:      nil, // the graph's input, not a node
}

// layer adds the nodes of one IR layer, whose output is named t{ID}.
func (g *onnxGraph) layer(net *spaces.Net, l spaces.Layer) error {
	ins := make([]string, len(l.Inputs))
	for i, id := range l.Inputs {
		ins[i] = name(id)
		if id == 0 {
			ins[i] = "input"
		}
	}
	express := onnxKinds[l.Kind]
	if express == nil {
		return fmt.Errorf("a %s, which onnx cannot express", l.Kind)
	}
	return express(g, onnxLayer{Layer: l, net: net, ins: ins, out: name(l.ID), key: fmt.Sprintf("l%d.", l.ID)})
}

// unary is a node of one ONNX op with no attributes on the layer's inputs.
func (g *onnxGraph) unary(op string, l onnxLayer, suffix string) error {
	g.node(op, l.ins, []string{l.out}, l.key+suffix)
	return nil
}

// initAll adds the named tensors of the weights as initializers.
func (g *onnxGraph) initAll(names ...string) error {
	for _, n := range names {
		if err := g.init(n); err != nil {
			return err
		}
	}
	return nil
}

// withBias is the weight (and the bias, when the layer has one) after the data input,
// all added as initializers.
func (g *onnxGraph) withBias(l onnxLayer, data string) ([]string, error) {
	args := []string{data, l.key + "weight"}
	if l.Bias {
		args = append(args, l.key+"bias")
	}
	return args, g.initAll(args[1:]...)
}

func (g *onnxGraph) conv(l onnxLayer) error {
	args, err := g.withBias(l, l.ins[0])
	if err != nil {
		return err
	}
	k, s, p, d := int64(l.Kernel), int64(l.Stride), int64(l.Pad), int64(l.Dilation)
	g.node("Conv", args, []string{l.out}, l.key+"conv", ints("kernel_shape", k, k), ints("strides", s, s),
		ints("pads", p, p, p, p), ints("dilations", d, d), intAttr("group", int64(l.Groups)))
	return nil
}

func (g *onnxGraph) batchNorm(l onnxLayer) error {
	c := l.Shape.C
	scale, bias := l.key+"weight", l.key+"bias"
	if l.Affine {
		if err := g.initAll(scale, bias); err != nil {
			return err
		}
	} else {
		scale, bias = g.constant(ones(c), []int64{int64(c)}), g.constant(make([]float32, c), []int64{int64(c)})
	}
	if err := g.initAll(l.key+"running_mean", l.key+"running_var"); err != nil {
		return err
	}
	g.node("BatchNormalization", []string{l.ins[0], scale, bias, l.key + "running_mean", l.key + "running_var"}, []string{l.out}, l.key+"bn",
		floatAttr("epsilon", 1e-5), floatAttr("momentum", 0.9))
	return nil
}

func (g *onnxGraph) pool(l onnxLayer) error {
	op := "MaxPool"
	attrs := [][]byte{}
	if l.Kind == spaces.AvgPool {
		op = "AveragePool"
		attrs = append(attrs, intAttr("count_include_pad", 0))
	}
	k, s, p := int64(l.Kernel), int64(l.Stride), int64(l.Pad)
	attrs = append(attrs, ints("kernel_shape", k, k), ints("strides", s, s), ints("pads", p, p, p, p))
	g.node(op, l.ins, []string{l.out}, l.key+"pool", attrs...)
	return nil
}

func (g *onnxGraph) concat(l onnxLayer) error {
	if len(l.ins) == 1 {
		return g.unary("Identity", l, "concat")
	}
	g.node("Concat", l.ins, []string{l.out}, l.key+"concat", intAttr("axis", 1))
	return nil
}

// zero is zeros with the input's batch size: one strided channel of it times zero,
// broadcast to the layer's channels.
func (g *onnxGraph) zero(l onnxLayer) error {
	s := int64(max(l.Stride, 1))
	sl := g.slice(l.ins[0], []int64{0, 0, 0}, []int64{1, math.MaxInt64, math.MaxInt64}, []int64{1, 2, 3}, []int64{1, s, s}, l.key+"zero_slice")
	zero := l.key + "zero_mul"
	g.node("Mul", []string{sl, g.constant([]float32{0}, nil)}, []string{zero}, zero)
	g.node("Expand", []string{zero, g.constantInt([]int64{1, int64(l.Shape.C), 1, 1})}, []string{l.out}, l.key+"zero")
	return nil
}

func (g *onnxGraph) factReduce(l onnxLayer) error {
	r := l.key + "relu"
	g.node("Relu", l.ins, []string{r}, r)
	for i, src := range []string{r, ""} {
		w := fmt.Sprintf("%sconv%d.weight", l.key, i+1)
		if err := g.init(w); err != nil {
			return err
		}
		if i == 1 { // shifted by one pixel, zeros past the far edge
			sl := g.slice(r, []int64{1, 1}, []int64{math.MaxInt64, math.MaxInt64}, []int64{2, 3}, []int64{1, 1}, l.key+"shift")
			src = l.key + "shift_pad"
			g.node("Pad", []string{sl, g.constantInt([]int64{0, 0, 0, 0, 0, 0, 1, 1})}, []string{src}, src)
		}
		g.node("Conv", []string{src, w}, []string{fmt.Sprintf("%sconv%d", l.key, i+1)}, fmt.Sprintf("%sconv%d", l.key, i+1),
			ints("kernel_shape", 1, 1), ints("strides", 2, 2))
	}
	g.node("Concat", []string{l.key + "conv1", l.key + "conv2"}, []string{l.out}, l.key+"concat", intAttr("axis", 1))
	return nil
}

func (g *onnxGraph) linear(l onnxLayer) error {
	flat := l.key + "flatten"
	g.node("Flatten", l.ins, []string{flat}, flat, intAttr("axis", 1))
	args, err := g.withBias(l, flat)
	if err != nil {
		return err
	}
	if l.ID == l.net.Output {
		g.node("Gemm", args, []string{l.out}, l.key+"gemm", intAttr("transB", 1))
		return nil
	}
	gemm := l.key + "gemm"
	g.node("Gemm", args, []string{gemm}, gemm, intAttr("transB", 1))
	g.node("Unsqueeze", []string{gemm, g.constantInt([]int64{2, 3})}, []string{l.out}, l.key+"unsqueeze")
	return nil
}

// init adds the tensor named n of the weights as an initializer.
func (g *onnxGraph) init(n string) error {
	t, ok := g.w[n]
	if !ok {
		return fmt.Errorf("no tensor %s in the weights", n)
	}
	dims := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = int64(d)
	}
	g.inits = append(g.inits, floatTensor(n, t.Data, dims))
	return nil
}

func (g *onnxGraph) constant(v []float32, dims []int64) string {
	g.consts++
	n := fmt.Sprintf("const%d", g.consts)
	g.inits = append(g.inits, floatTensor(n, v, dims))
	return n
}

func (g *onnxGraph) constantInt(v []int64) string {
	g.consts++
	n := fmt.Sprintf("const%d", g.consts)
	var t []byte
	t = protowire.AppendTag(t, 1, protowire.VarintType)
	t = protowire.AppendVarint(t, uint64(len(v))) // dims: one dimension
	t = protowire.AppendTag(t, 2, protowire.VarintType)
	t = protowire.AppendVarint(t, 7) // INT64
	t = appendString(t, 8, n)
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	t = protowire.AppendTag(t, 9, protowire.BytesType)
	t = protowire.AppendBytes(t, raw)
	g.inits = append(g.inits, t)
	return n
}

// slice adds a Slice node and returns its output's name.
func (g *onnxGraph) slice(in string, starts, ends, axes, steps []int64, out string) string {
	g.node("Slice", []string{in, g.constantInt(starts), g.constantInt(ends), g.constantInt(axes), g.constantInt(steps)}, []string{out}, out)
	return out
}

func (g *onnxGraph) node(op string, ins, outs []string, nodeName string, attrs ...[]byte) {
	var n []byte
	for _, s := range ins {
		n = appendString(n, 1, s)
	}
	for _, s := range outs {
		n = appendString(n, 2, s)
	}
	n = appendString(n, 3, nodeName)
	n = appendString(n, 4, op)
	for _, a := range attrs {
		n = appendMessage(n, 5, a)
	}
	g.nodes = append(g.nodes, n)
}

// floatTensor is a TensorProto of FLOAT data, little-endian in raw_data.
func floatTensor(n string, v []float32, dims []int64) []byte {
	var t []byte
	for _, d := range dims {
		t = protowire.AppendTag(t, 1, protowire.VarintType)
		t = protowire.AppendVarint(t, uint64(d))
	}
	t = protowire.AppendTag(t, 2, protowire.VarintType)
	t = protowire.AppendVarint(t, 1) // FLOAT
	t = appendString(t, 8, n)
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	t = protowire.AppendTag(t, 9, protowire.BytesType)
	return protowire.AppendBytes(t, raw)
}

// valueInfo is a ValueInfoProto of a FLOAT tensor; a negative dimension is free.
func valueInfo(n string, dims []int64) []byte {
	var shape []byte
	for _, d := range dims {
		var dim []byte
		if d < 0 {
			dim = appendString(dim, 2, "N")
		} else {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tensor []byte
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, 1) // FLOAT
	tensor = appendMessage(tensor, 2, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tensor)
	var vi []byte
	vi = appendString(vi, 1, n)
	return appendMessage(vi, 2, typ)
}

func intAttr(n string, v int64) []byte {
	var a []byte
	a = appendString(a, 1, n)
	a = protowire.AppendTag(a, 3, protowire.VarintType)
	a = protowire.AppendVarint(a, uint64(v))
	a = protowire.AppendTag(a, 20, protowire.VarintType)
	return protowire.AppendVarint(a, 2) // INT
}

func floatAttr(n string, v float32) []byte {
	var a []byte
	a = appendString(a, 1, n)
	a = protowire.AppendTag(a, 2, protowire.Fixed32Type)
	a = protowire.AppendFixed32(a, math.Float32bits(v))
	a = protowire.AppendTag(a, 20, protowire.VarintType)
	return protowire.AppendVarint(a, 1) // FLOAT
}

func ints(n string, v ...int64) []byte {
	var a []byte
	a = appendString(a, 1, n)
	var packed []byte
	for _, x := range v {
		packed = protowire.AppendVarint(packed, uint64(x))
	}
	a = protowire.AppendTag(a, 8, protowire.BytesType)
	a = protowire.AppendBytes(a, packed)
	a = protowire.AppendTag(a, 20, protowire.VarintType)
	return protowire.AppendVarint(a, 7) // INTS
}

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}
