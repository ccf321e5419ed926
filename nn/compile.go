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
	Graph  *G.ExprGraph
	X      *G.Node // input, batch x C x H x W
	Y      *G.Node // one-hot labels, batch x classes
	Logits *G.Node
	Loss   *G.Node // mean cross-entropy
	Params []*G.Node
	// Weights are the conv and linear weights among Params (no biases or batch-norm
	// scales): what pruning-based scores (snip, grasp) weigh.
	Weights []*G.Node
	// weightLayer is the id of the layer each of Weights belongs to.
	weightLayer []int
	// ReLUs are the outputs of every ReLU, in layer order, for scores read off the
	// activations (naswot). Their values are readable after a run only when compiled
	// with ReadReLUs; otherwise their memory is shared (see PlanMemory).
	ReLUs []*G.Node
	// Taps, compiled with TapLayers, read the output of each conv and linear layer
	// and the loss's gradient with respect to it (see Tap).
	Taps []Tap
	// Mix, compiled with Mixes, are the mixing-weight inputs of a supernet's mixes
	// (vectors, one weight per candidate), in the order of CompileOptions.Mixes.
	Mix []*G.Node
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

// CompileWith is Compile with options.
func CompileWith(net *spaces.Net, batch int, rng *rand.Rand, opt CompileOptions) (*Model, error) {
	if batch < 1 {
		return nil, fmt.Errorf("nn: batch size %d must be positive", batch)
	}
	g := G.NewGraph()
	m := &Model{Graph: g, Batch: batch, readReLUs: opt.ReadReLUs}
	nodes := make([]*G.Node, len(net.Layers))
	layer := 0 // the id of the layer being compiled, for weightLayer
	param := func(name string, shape tensor.Shape, data []float32) *G.Node {
		n := G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(newDense(shape, data)))
		m.Params = append(m.Params, n)
		return n
	}
	weight := func(name string, shape tensor.Shape, data []float32) *G.Node {
		n := param(name, shape, data)
		m.Weights, m.weightLayer = append(m.Weights, n), append(m.weightLayer, layer)
		return n
	}
	in := func(l spaces.Layer, i int) *G.Node { return nodes[l.Inputs[i]] }
	mixAt := map[int]int{}
	for i, mx := range opt.Mixes {
		if mx.Layer < 0 || mx.Layer >= len(net.Layers) || net.Layers[mx.Layer].Kind != spaces.Add {
			return nil, fmt.Errorf("nn: mix %d: layer %d is not an add layer", i, mx.Layer)
		}
		mixAt[mx.Layer] = i
	}
	m.Mix = make([]*G.Node, len(opt.Mixes))
	// A branch's layers may skip their work while their gate is set. gorgonia merges
	// equal ops on equal inputs (two branches' ReLUs of one node), so a graph node
	// gets the gates of every layer it stands for, and none if one of those layers is
	// outside every branch.
	gateOf := map[int]*bool{}
	m.gates = make([][]*bool, len(opt.Mixes))
	for i, mx := range opt.Mixes {
		for _, br := range mx.Branches {
			g := new(bool)
			m.gates[i] = append(m.gates[i], g)
			for id := br[0]; id < br[1]; id++ {
				gateOf[id] = g
			}
		}
	}
	type nodeGates struct {
		gates   []*bool
		ungated bool
	}
	gatesOf := map[*G.Node]*nodeGates{}
	inShape := func(l spaces.Layer) spaces.Shape { return net.Layers[l.Inputs[0]].Shape }
	for _, l := range net.Layers {
		var out *G.Node
		var err error
		layer = l.ID
		name := fmt.Sprintf("%d:%s", l.ID, l.Name)
		switch l.Kind {
		case spaces.Input:
			s := l.Shape
			out = G.NewTensor(g, tensor.Float32, 4, G.WithShape(batch, s.C, s.H, s.W), G.WithName("x"))
			m.X = out
		case spaces.Conv:
			geom := convGeomOf(l, inShape(l), batch)
			fanIn := geom.cinG() * l.Kernel * l.Kernel
			w := weight(name+"/w", tensor.Shape{l.OutC, geom.cinG(), l.Kernel, l.Kernel}, uniform(rng, l.OutC*fanIn, 1/math.Sqrt(float64(fanIn))))
			if out, err = G.ApplyOp(&convOp{g: geom}, in(l, 0), w); err == nil && l.Bias {
				b := param(name+"/b", tensor.Shape{1, l.OutC, 1, 1}, make([]float32, l.OutC))
				out, err = G.BroadcastAdd(out, b, nil, []byte{0, 2, 3})
			}
		case spaces.FactReduce:
			out, err = compileFactReduce(l, inShape(l), batch, in(l, 0), func(i int, shape tensor.Shape) *G.Node {
				return weight(fmt.Sprintf("%s/w%d", name, i), shape, uniform(rng, shape.TotalSize(), 1/math.Sqrt(float64(shape[1]))))
			})
		case spaces.BatchNorm:
			if opt.NoBatchNorm {
				out = in(l, 0)
				break
			}
			c := l.Shape.C
			bn := newBN(name, c)
			m.bns = append(m.bns, bn)
			ones := make([]float32, c)
			for i := range ones {
				ones[i] = 1
			}
			var gamma, beta *G.Node
			if l.Affine {
				gamma, beta = param(name+"/gamma", tensor.Shape{c}, ones), param(name+"/beta", tensor.Shape{c}, make([]float32, c))
			} else {
				gamma = G.NewConstant(newDense(tensor.Shape{c}, ones), G.WithName(name+"/gamma"))
				beta = G.NewConstant(newDense(tensor.Shape{c}, make([]float32, c)), G.WithName(name+"/beta"))
			}
			if conv, ok := in(l, 0).Op().(*convOp); ok {
				bn.src, conv.stats = conv, true
			}
			out, err = G.ApplyOp(bn, in(l, 0), gamma, beta)
		case spaces.ReLU:
			if out, err = relu(in(l, 0)); err == nil {
				m.ReLUs = append(m.ReLUs, out)
			}
		case spaces.MaxPool, spaces.AvgPool:
			s := inShape(l)
			pg := poolGeom{Max: l.Kind == spaces.MaxPool, N: batch, C: s.C, H: s.H, W: s.W, K: l.Kernel, Stride: l.Stride, Pad: l.Pad, OutH: l.Shape.H, OutW: l.Shape.W}
			out, err = G.ApplyOp(&poolOp{g: pg}, in(l, 0))
		case spaces.GlobalPool:
			// Not G.Mean over axes 2 and 3: its gradient is wrong in gorgonia 0.9.18.
			out, err = G.ApplyOp(&globalPoolOp{}, in(l, 0))
		case spaces.Add:
			if i, ok := mixAt[l.ID]; ok {
				k := len(l.Inputs)
				ones := make([]float32, k)
				for j := range ones {
					ones[j] = 1
				}
				w := G.NewTensor(g, tensor.Float32, 1, G.WithShape(k), G.WithName(name+"/mix"), G.WithValue(newDense(tensor.Shape{k}, ones)))
				m.Mix[i] = w
				args := make(G.Nodes, 0, k+1)
				for j := range l.Inputs {
					args = append(args, in(l, j))
				}
				out, err = G.ApplyOp(&mixOp{k: k, dims: 4, id: l.ID, noGradW: &m.noMixGrad}, append(args, w)...)
				break
			}
			out = in(l, 0)
			for i := 1; i < len(l.Inputs) && err == nil; i++ {
				out, err = add(out, in(l, i))
			}
		case spaces.Concat:
			ins := make([]*G.Node, len(l.Inputs))
			for i := range ins {
				ins[i] = in(l, i)
			}
			if len(ins) == 1 {
				out = ins[0]
			} else {
				out, err = concatChannels(ins...)
			}
		case spaces.Zero:
			s := l.Shape
			out, err = G.ApplyOp(&zeroOp{shape: tensor.Shape{batch, s.C, s.H, s.W}}, in(l, 0))
		case spaces.Identity:
			out = in(l, 0)
		case spaces.Linear:
			cin := inShape(l).Elems()
			var x *G.Node
			if x, err = G.Reshape(in(l, 0), tensor.Shape{batch, cin}); err != nil {
				break
			}
			bound := 1 / math.Sqrt(float64(cin))
			w := weight(name+"/w", tensor.Shape{cin, l.OutC}, uniform(rng, cin*l.OutC, bound))
			if out, err = G.Mul(x, w); err == nil && l.Bias {
				b := param(name+"/b", tensor.Shape{1, l.OutC}, uniform(rng, l.OutC, bound))
				out, err = G.BroadcastAdd(out, b, nil, []byte{0})
			}
		default:
			err = fmt.Errorf("unknown layer kind %q", l.Kind)
		}
		if err == nil && opt.TapLayers && (l.Kind == spaces.Conv || l.Kind == spaces.Linear) {
			var t Tap
			if out, t, err = tap(out); err == nil {
				m.Taps = append(m.Taps, t)
			}
		}
		if err == nil && slices.Contains(opt.NormaliseAfter, l.ID) {
			op := &normaliseOp{dims: out.Dims(), id: l.ID}
			m.norms = append(m.norms, op)
			out, err = G.ApplyOp(op, out)
		}
		if err != nil {
			return nil, fmt.Errorf("nn: compile layer %d (%s, %s): %w", l.ID, l.Name, l.Kind, err)
		}
		nodes[l.ID] = out
		ng := gatesOf[out]
		if ng == nil {
			ng = &nodeGates{}
			gatesOf[out] = ng
		}
		if g, ok := gateOf[l.ID]; ok {
			ng.gates = append(ng.gates, g)
		} else {
			ng.ungated = true
		}
	}
	for n, ng := range gatesOf {
		if op, ok := n.Op().(interface{ setSkips([]*bool) }); ok && !ng.ungated {
			op.setSkips(ng.gates)
		}
	}
	logits := nodes[net.Output]
	if opt.NoLoss {
		m.Logits = logits
		return m, nil
	}
	if s := logits.Shape(); len(s) != 2 {
		return nil, fmt.Errorf("nn: the network's output has shape %v; it must end in a linear layer", s)
	}
	m.Logits = logits
	classes := logits.Shape()[1]
	m.Y = G.NewMatrix(g, tensor.Float32, G.WithShape(batch, classes), G.WithName("y"))
	logp, err := G.LogSoftMax(logits)
	if err != nil {
		return nil, fmt.Errorf("nn: loss: %w", err)
	}
	picked, err := G.HadamardProd(logp, m.Y)
	if err != nil {
		return nil, fmt.Errorf("nn: loss: %w", err)
	}
	sum, err := G.Sum(picked)
	if err != nil {
		return nil, fmt.Errorf("nn: loss: %w", err)
	}
	if m.Loss, err = G.Div(sum, G.NewConstant(float32(-batch))); err != nil {
		return nil, fmt.Errorf("nn: loss: %w", err)
	}
	return m, nil
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
