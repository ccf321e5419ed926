package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/spaces"
)

// Model is a network compiled for a fixed batch size: its graph, input and label
// nodes, logits and loss, trainable parameters and batch norms.
type Model struct {
	graph  *G.ExprGraph
	x      *G.Node // input, batch x C x H x W
	y      *G.Node // one-hot labels, batch x classes
	logits *G.Node
	loss   *G.Node // mean cross-entropy
	params []*G.Node
	// weights are the conv and linear weights among Params (no biases or batch-norm
	// scales): what pruning-based scores (snip, grasp) weigh.
	weights []*G.Node
	// weightLayer is the id of the layer each of Weights belongs to.
	weightLayer []int
	// relus are the outputs of every ReLU, in layer order, for scores read off the
	// activations (naswot). Their values are readable after a run only when compiled
	// with ReadReLUs; otherwise their memory is shared (see PlanMemory).
	relus []*G.Node
	// Taps, compiled with TapLayers, read the output of each conv and linear layer
	// and the loss's gradient with respect to it (see Tap).
	Taps []Tap
	// mixes, compiled with Mixes, are the mixing-weight inputs of a supernet's mixes
	// (vectors, one weight per candidate), in the order of CompileOptions.Mixes.
	mixes []*G.Node
	// gates, compiled with Mixes, switch off each input's branch of each mix (see
	// Supernet): gates[i][j] for Mix[i]'s input j.
	gates [][]*bool
	// noMixGrad switches off the gradients of the mixing weights (see mixGradWOp):
	// training a supernet's weights does not read them.
	noMixGrad bool
	Batch     int
	bns       []*bnOp
	norms     []*normaliseOp
	// mem is the memory plan, once PlanMemory made one.
	mem *memPlan
	// fixedReLUs is on between FixActivations and FreeActivations.
	fixedReLUs bool
	readReLUs  bool // CompileOptions.ReadReLUs
}

// CompileOptions change what Compile builds.
type CompileOptions struct {
	// NoBatchNorm compiles batch norms as identities, as synflow scores networks.
	NoBatchNorm bool
	// TapLayers passes the outputs of the conv and linear layers through Taps.
	TapLayers bool
	// NormaliseAfter lists layer ids whose outputs are divided by their largest
	// magnitude (see Model.LogScale).
	NormaliseAfter []int
	// Mixes compiles these Add layers of a supernet as weighted sums of their inputs,
	// the weights being inputs of the graph (Model.Mix).
	Mixes []spaces.Mix
	// ReadReLUs keeps the ReLUs' outputs (Model.ReLUs) readable after a run. Without
	// it, a planned model shares their memory once their gradients are taken: 0.12
	// GB on the largest NB201 network at batch 64.
	ReadReLUs bool
	// NoLoss leaves out the labels and the loss, and lets the network end in any
	// layer (Logits is then that layer's output): for timing forward passes of a
	// part of a network.
	NoLoss bool
}

// SetTraining switches every batch norm between batch statistics (training) and
// running statistics (evaluation).
func (m *Model) SetTraining(on bool) {
	for _, bn := range m.bns {
		bn.training = on
	}
}

// Compile builds a gorgonia graph for net at a fixed batch size, its parameters drawn
// from rng as PyTorch's defaults draw them: conv and linear weights (and biases)
// uniform in +-1/sqrt(fan in), batch norms scale 1 and shift 0. (He-normal init, with
// batch norm and SGD at the usual rates, learns several times slower: measured here
// against PyTorch on one MNIST batch.)
func Compile(net *spaces.Net, batch int, rng *rand.Rand) (*Model, error) {
	return CompileWith(net, batch, rng, CompileOptions{})
}

// compiler builds one Model: the graph nodes of the layers so far and what the
// per-kind methods share.
type compiler struct {
	m     *Model
	g     *G.ExprGraph
	net   *spaces.Net
	batch int
	rng   *rand.Rand
	opt   CompileOptions
	nodes []*G.Node
	layer int         // the id of the layer being compiled, for weightLayer
	mixAt map[int]int // Add layers compiled as mixes -> their index in opt.Mixes
}

// kinds compiles each layer kind of the IR into graph nodes; a kind missing here is a
// test failure (TestEveryKindCompiles).
var kinds = map[spaces.Kind]func(c *compiler, l spaces.Layer, name string) (*G.Node, error){
	spaces.Input:      (*compiler).input,
	spaces.Conv:       (*compiler).conv,
	spaces.FactReduce: (*compiler).factReduce,
	spaces.BatchNorm:  (*compiler).batchNorm,
	spaces.ReLU:       (*compiler).relu,
	spaces.MaxPool:    (*compiler).pool,
	spaces.AvgPool:    (*compiler).pool,
	// Not G.Mean over axes 2 and 3: its gradient is wrong in gorgonia 0.9.18.
	spaces.GlobalPool: func(c *compiler, l spaces.Layer, _ string) (*G.Node, error) {
		return G.ApplyOp(&globalPoolOp{}, c.in(l, 0))
	},
	spaces.Add:    (*compiler).add,
	spaces.Concat: (*compiler).concat,
	spaces.Zero: func(c *compiler, l spaces.Layer, _ string) (*G.Node, error) {
		s := l.Shape
		return G.ApplyOp(&zeroOp{shape: tensor.Shape{c.batch, s.C, s.H, s.W}}, c.in(l, 0))
	},
	spaces.Identity: func(c *compiler, l spaces.Layer, _ string) (*G.Node, error) { return c.in(l, 0), nil },
	spaces.Linear:   (*compiler).linear,
}

func (c *compiler) param(name string, shape tensor.Shape, data []float32) *G.Node {
	n := G.NewTensor(c.g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(newDense(shape, data)))
	c.m.params = append(c.m.params, n)
	return n
}

// weight is a param that pruning-based scores weigh (a conv's or a linear layer's).
func (c *compiler) weight(name string, shape tensor.Shape, data []float32) *G.Node {
	n := c.param(name, shape, data)
	c.m.weights, c.m.weightLayer = append(c.m.weights, n), append(c.m.weightLayer, c.layer)
	return n
}

func (c *compiler) in(l spaces.Layer, i int) *G.Node { return c.nodes[l.Inputs[i]] }

func (c *compiler) inShape(l spaces.Layer) spaces.Shape { return c.net.Layers[l.Inputs[0]].Shape }

func (c *compiler) input(l spaces.Layer, _ string) (*G.Node, error) {
	s := l.Shape
	c.m.x = G.NewTensor(c.g, tensor.Float32, 4, G.WithShape(c.batch, s.C, s.H, s.W), G.WithName("x"))
	return c.m.x, nil
}

func (c *compiler) conv(l spaces.Layer, name string) (*G.Node, error) {
	geom := convGeomOf(l, c.inShape(l), c.batch)
	fanIn := geom.cinG() * l.Kernel * l.Kernel
	w := c.weight(name+"/w", tensor.Shape{l.OutC, geom.cinG(), l.Kernel, l.Kernel}, uniform(c.rng, l.OutC*fanIn, 1/math.Sqrt(float64(fanIn))))
	out, err := G.ApplyOp(&convOp{g: geom}, c.in(l, 0), w)
	if err != nil || !l.Bias {
		return out, err
	}
	b := c.param(name+"/b", tensor.Shape{1, l.OutC, 1, 1}, make([]float32, l.OutC))
	return G.BroadcastAdd(out, b, nil, []byte{0, 2, 3})
}

func (c *compiler) factReduce(l spaces.Layer, name string) (*G.Node, error) {
	return compileFactReduce(l, c.inShape(l), c.batch, c.in(l, 0), func(i int, shape tensor.Shape) *G.Node {
		return c.weight(fmt.Sprintf("%s/w%d", name, i), shape, uniform(c.rng, shape.TotalSize(), 1/math.Sqrt(float64(shape[1]))))
	})
}

func (c *compiler) batchNorm(l spaces.Layer, name string) (*G.Node, error) {
	if c.opt.NoBatchNorm {
		return c.in(l, 0), nil
	}
	ch := l.Shape.C
	bn := newBN(name, ch)
	c.m.bns = append(c.m.bns, bn)
	ones := make([]float32, ch)
	for i := range ones {
		ones[i] = 1
	}
	var gamma, beta *G.Node
	if l.Affine {
		gamma, beta = c.param(name+"/gamma", tensor.Shape{ch}, ones), c.param(name+"/beta", tensor.Shape{ch}, make([]float32, ch))
	} else {
		gamma = G.NewConstant(newDense(tensor.Shape{ch}, ones), G.WithName(name+"/gamma"))
		beta = G.NewConstant(newDense(tensor.Shape{ch}, make([]float32, ch)), G.WithName(name+"/beta"))
	}
	if conv, ok := c.in(l, 0).Op().(*convOp); ok {
		bn.src, conv.stats = conv, true
	}
	return G.ApplyOp(bn, c.in(l, 0), gamma, beta)
}

func (c *compiler) relu(l spaces.Layer, _ string) (*G.Node, error) {
	out, err := relu(c.in(l, 0))
	if err == nil {
		c.m.relus = append(c.m.relus, out)
	}
	return out, err
}

func (c *compiler) pool(l spaces.Layer, _ string) (*G.Node, error) {
	s := c.inShape(l)
	pg := poolGeom{Max: l.Kind == spaces.MaxPool, N: c.batch, C: s.C, H: s.H, W: s.W, K: l.Kernel, Stride: l.Stride, Pad: l.Pad, OutH: l.Shape.H, OutW: l.Shape.W}
	return G.ApplyOp(&poolOp{g: pg}, c.in(l, 0))
}

// add is a sum of the inputs, or a supernet's mix of them (weighted by an input of
// the graph) where the options say so.
func (c *compiler) add(l spaces.Layer, name string) (*G.Node, error) {
	if i, ok := c.mixAt[l.ID]; ok {
		k := len(l.Inputs)
		ones := make([]float32, k)
		for j := range ones {
			ones[j] = 1
		}
		w := G.NewTensor(c.g, tensor.Float32, 1, G.WithShape(k), G.WithName(name+"/mix"), G.WithValue(newDense(tensor.Shape{k}, ones)))
		c.m.mixes[i] = w
		args := make(G.Nodes, 0, k+1)
		for j := range l.Inputs {
			args = append(args, c.in(l, j))
		}
		return G.ApplyOp(&mixOp{k: k, dims: 4, id: l.ID, noGradW: &c.m.noMixGrad}, append(args, w)...)
	}
	out := c.in(l, 0)
	var err error
	for i := 1; i < len(l.Inputs) && err == nil; i++ {
		out, err = add(out, c.in(l, i))
	}
	return out, err
}

func (c *compiler) concat(l spaces.Layer, _ string) (*G.Node, error) {
	ins := make([]*G.Node, len(l.Inputs))
	for i := range ins {
		ins[i] = c.in(l, i)
	}
	if len(ins) == 1 {
		return ins[0], nil
	}
	return concatChannels(ins...)
}

func (c *compiler) linear(l spaces.Layer, name string) (*G.Node, error) {
	cin := c.inShape(l).Elems()
	x, err := G.Reshape(c.in(l, 0), tensor.Shape{c.batch, cin})
	if err != nil {
		return nil, err
	}
	bound := 1 / math.Sqrt(float64(cin))
	w := c.weight(name+"/w", tensor.Shape{cin, l.OutC}, uniform(c.rng, cin*l.OutC, bound))
	out, err := G.Mul(x, w)
	if err != nil || !l.Bias {
		return out, err
	}
	b := c.param(name+"/b", tensor.Shape{1, l.OutC}, uniform(c.rng, l.OutC, bound))
	return G.BroadcastAdd(out, b, nil, []byte{0})
}

// layerOut compiles layer l, and what the options add after it (a tap, a
// normalisation).
func (c *compiler) layerOut(l spaces.Layer) (*G.Node, error) {
	compile := kinds[l.Kind]
	if compile == nil {
		return nil, fmt.Errorf("unknown layer kind %q", l.Kind)
	}
	c.layer = l.ID
	out, err := compile(c, l, fmt.Sprintf("%d:%s", l.ID, l.Name))
	if err == nil && c.opt.TapLayers && (l.Kind == spaces.Conv || l.Kind == spaces.Linear) {
		var t Tap
		if out, t, err = tap(out); err == nil {
			c.m.Taps = append(c.m.Taps, t)
		}
	}
	if err == nil && slices.Contains(c.opt.NormaliseAfter, l.ID) {
		op := &normaliseOp{dims: out.Dims(), id: l.ID}
		c.m.norms = append(c.m.norms, op)
		out, err = G.ApplyOp(op, out)
	}
	return out, err
}

// CompileWith is Compile with options.
func CompileWith(net *spaces.Net, batch int, rng *rand.Rand, opt CompileOptions) (*Model, error) {
	if batch < 1 {
		return nil, fmt.Errorf("nn: batch size %d must be positive", batch)
	}
	g := G.NewGraph()
	c := &compiler{m: &Model{graph: g, Batch: batch, readReLUs: opt.ReadReLUs}, g: g, net: net, batch: batch, rng: rng, opt: opt,
		nodes: make([]*G.Node, len(net.Layers)), mixAt: map[int]int{}}
	for i, mx := range opt.Mixes {
		if mx.Layer < 0 || mx.Layer >= len(net.Layers) || net.Layers[mx.Layer].Kind != spaces.Add {
			return nil, fmt.Errorf("nn: mix %d: layer %d is not an add layer", i, mx.Layer)
		}
		c.mixAt[mx.Layer] = i
	}
	c.m.mixes = make([]*G.Node, len(opt.Mixes))
	gates := newGating(c.m, opt.Mixes)
	for _, l := range net.Layers {
		out, err := c.layerOut(l)
		if err != nil {
			return nil, fmt.Errorf("nn: compile layer %d (%s, %s): %w", l.ID, l.Name, l.Kind, err)
		}
		c.nodes[l.ID] = out
		gates.record(out, l.ID)
	}
	gates.apply()
	if err := c.loss(c.nodes[net.Output]); err != nil {
		return nil, err
	}
	return c.m, nil
}

// gating gives the layers of a supernet's branches their gates: a branch's layers may
// skip their work while its gate is set. gorgonia merges equal ops on equal inputs
// (two branches' ReLUs of one node), so a graph node gets the gates of every layer
// it stands for, and none if one of those layers is outside every branch.
type gating struct {
	gateOf  map[int]*bool // layer id -> its branch's gate
	gatesOf map[*G.Node]*nodeGates
}

type nodeGates struct {
	gates   []*bool
	ungated bool
}

func newGating(m *Model, mixes []spaces.Mix) *gating {
	g := &gating{gateOf: map[int]*bool{}, gatesOf: map[*G.Node]*nodeGates{}}
	m.gates = make([][]*bool, len(mixes))
	for i, mx := range mixes {
		for _, br := range mx.Branches {
			gate := new(bool)
			m.gates[i] = append(m.gates[i], gate)
			for id := br[0]; id < br[1]; id++ {
				g.gateOf[id] = gate
			}
		}
	}
	return g
}

// record notes that node out stands for layer id.
func (g *gating) record(out *G.Node, id int) {
	ng := g.gatesOf[out]
	if ng == nil {
		ng = &nodeGates{}
		g.gatesOf[out] = ng
	}
	if gate, ok := g.gateOf[id]; ok {
		ng.gates = append(ng.gates, gate)
	} else {
		ng.ungated = true
	}
}

// apply hands every node whose layers are all gated its gates.
func (g *gating) apply() {
	for n, ng := range g.gatesOf {
		if op, ok := n.Op().(interface{ setSkips([]*bool) }); ok && !ng.ungated {
			op.setSkips(ng.gates)
		}
	}
}

// loss ends the model in its logits and, unless the options leave it out, the mean
// cross-entropy against the labels Y.
func (c *compiler) loss(logits *G.Node) error {
	m := c.m
	m.logits = logits
	if c.opt.NoLoss {
		return nil
	}
	if s := logits.Shape(); len(s) != 2 {
		return fmt.Errorf("nn: the network's output has shape %v; it must end in a linear layer", s)
	}
	classes := logits.Shape()[1]
	m.y = G.NewMatrix(c.g, tensor.Float32, G.WithShape(c.batch, classes), G.WithName("y"))
	logp, err := G.LogSoftMax(logits)
	if err != nil {
		return fmt.Errorf("nn: loss: %w", err)
	}
	picked, err := G.HadamardProd(logp, m.y)
	if err != nil {
		return fmt.Errorf("nn: loss: %w", err)
	}
	sum, err := G.Sum(picked)
	if err != nil {
		return fmt.Errorf("nn: loss: %w", err)
	}
	if m.loss, err = G.Div(sum, G.NewConstant(float32(-c.batch))); err != nil {
		return fmt.Errorf("nn: loss: %w", err)
	}
	return nil
}

func convGeomOf(l spaces.Layer, s spaces.Shape, batch int) convGeom {
	return convGeom{N: batch, C: s.C, H: s.H, W: s.W, K: l.Kernel, OutC: l.OutC, Stride: l.Stride, Dil: l.Dilation,
		PadH: l.Pad, PadW: l.Pad, Groups: l.Groups, OutH: l.Shape.H, OutW: l.Shape.W}
}

// compileFactReduce is DARTS' factorized reduce: ReLU, then two 1x1 stride-2 convs to
// half the channels each, the second reading the input shifted by one pixel (a window
// offset of -1: for odd sizes its last row and column read zeros), concatenated.
func compileFactReduce(l spaces.Layer, s spaces.Shape, batch int, x *G.Node, param func(int, tensor.Shape) *G.Node) (*G.Node, error) {
	r, err := relu(x)
	if err != nil {
		return nil, err
	}
	half := l.OutC / 2
	var outs [2]*G.Node
	for i := range outs {
		geom := convGeom{N: batch, C: s.C, H: s.H, W: s.W, K: 1, OutC: half, Stride: 2, Dil: 1, PadH: -i, PadW: -i, Groups: 1, OutH: l.Shape.H, OutW: l.Shape.W}
		w := param(i, tensor.Shape{half, s.C, 1, 1})
		if outs[i], err = G.ApplyOp(&convOp{g: geom}, r, w); err != nil {
			return nil, err
		}
	}
	return concatChannels(outs[0], outs[1])
}

func uniform(rng *rand.Rand, n int, bound float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32((rng.Float64()*2 - 1) * bound)
	}
	return out
}
