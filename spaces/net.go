package spaces

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is the type of one layer of the network IR.
type Kind string

// The layer kinds of the IR. Every consumer of a Net (the gorgonia compiler, the
// exporters, the latency estimator, the diagrams) handles exactly this set.
const (
	Input      Kind = "input"      // the network input; Shape is given
	Conv       Kind = "conv"       // 2-D convolution: OutC, Kernel, Stride, Pad, Dilation, Groups, Bias
	BatchNorm  Kind = "batchnorm"  // per-channel; Affine says whether it has scale and shift
	ReLU       Kind = "relu"       //
	MaxPool    Kind = "maxpool"    // Kernel, Stride, Pad
	AvgPool    Kind = "avgpool"    // Kernel, Stride, Pad; padding excluded from the mean
	GlobalPool Kind = "globalpool" // global average pool to C x 1 x 1
	Add        Kind = "add"        // element-wise sum of two or more inputs of one shape
	Concat     Kind = "concat"     // channel concatenation
	Zero       Kind = "zero"       // zeros of the input's shape (strided like a pool with Stride)
	Identity   Kind = "identity"   //
	FactReduce Kind = "factreduce" // ReLU, two 1x1 stride-2 convs (one on the input shifted by one pixel), concat
	Linear     Kind = "linear"     // fully connected on a C x 1 x 1 input: OutC, Bias
)

// kinds is the closed set of layer kinds, in the order above.
var kinds = []Kind{Input, Conv, BatchNorm, ReLU, MaxPool, AvgPool, GlobalPool, Add, Concat, Zero, Identity, FactReduce, Linear}

// Kinds lists every layer kind of the IR. The compiler, the exporters and the latency
// table each keep a table of what they do per kind, and each has a test that walks
// this list through its table: a new kind fails there until it is handled everywhere.
func Kinds() []Kind { return slices.Clone(kinds) }

// Shape is a feature map's size: channels, height, width.
type Shape struct{ C, H, W int }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// Elems is the number of values in one sample of this shape.
func (s Shape) Elems() int { return s.C * s.H * s.W }

// Layer is one node of the IR's DAG. Attributes that do not apply to a kind are zero.
type Layer struct {
	ID       int
	Kind     Kind
	Name     string // a path such as "stage2/cell1/node3/edge0/conv", for diagrams and exports
	Inputs   []int  // IDs of earlier layers
	OutC     int
	Kernel   int
	Stride   int
	Pad      int
	Dilation int
	Groups   int
	Bias     bool
	Affine   bool
	Shape    Shape // the inferred output shape
}

// Net is the phenotype of an architecture: a DAG of layers in topological order
// (every input ID is smaller than the layer's own), ending in its Output layer.
type Net struct {
	Layers []Layer
	Output int
}

// builder adds layers and infers each one's shape as it goes, so a malformed
// network is caught where it is made, with the layer's name.
type builder struct {
	net Net
	err error
}

func newBuilder(in Shape) *builder {
	b := &builder{}
	b.net.Layers = append(b.net.Layers, Layer{ID: 0, Kind: Input, Name: "input", Shape: in})
	return b
}

func (b *builder) shape(id int) Shape { return b.net.Layers[id].Shape }

// add appends l (its ID and Shape are filled in) and returns its ID. After the first
// error, add does nothing and returns 0, and finish reports that error.
func (b *builder) add(l Layer) int {
	if b.err != nil {
		return 0
	}
	l.ID = len(b.net.Layers)
	s, err := inferShape(b.net.Layers, l)
	if err != nil {
		b.err = fmt.Errorf("layer %d (%s, %s): %w", l.ID, l.Name, l.Kind, err)
		return 0
	}
	l.Shape = s
	b.net.Layers = append(b.net.Layers, l)
	return l.ID
}

func (b *builder) finish(out int) (*Net, error) {
	if b.err != nil {
		return nil, b.err
	}
	b.net.Output = out
	return &b.net, nil
}

// Convenience constructors for the common layer forms.

func (b *builder) conv(name string, in, outC, k, stride, dil, groups int) int {
	pad := dil * (k - 1) / 2
	return b.add(Layer{Kind: Conv, Name: name, Inputs: []int{in}, OutC: outC, Kernel: k, Stride: stride, Pad: pad, Dilation: dil, Groups: groups})
}

func (b *builder) bn(name string, in int) int {
	return b.add(Layer{Kind: BatchNorm, Name: name, Inputs: []int{in}, Affine: true})
}

func (b *builder) relu(name string, in int) int {
	return b.add(Layer{Kind: ReLU, Name: name, Inputs: []int{in}})
}

// reluConvBN is the ReLU-conv-BN unit of NB201 and DARTS.
func (b *builder) reluConvBN(name string, in, outC, k, stride, dil int) int {
	x := b.relu(name+"/relu", in)
	x = b.conv(name+"/conv", x, outC, k, stride, dil, 1)
	return b.bn(name+"/bn", x)
}

func (b *builder) pool(name string, kind Kind, in, k, stride int) int {
	return b.add(Layer{Kind: kind, Name: name, Inputs: []int{in}, Kernel: k, Stride: stride, Pad: (k - 1) / 2})
}

func (b *builder) sum(name string, ins []int) int {
	if len(ins) == 1 {
		return ins[0]
	}
	return b.add(Layer{Kind: Add, Name: name, Inputs: ins})
}

func convOut(n, k, stride, pad, dil int) int {
	return (n+2*pad-dil*(k-1)-1)/stride + 1
}

func inferShape(layers []Layer, l Layer) (Shape, error) {
	for _, in := range l.Inputs {
		if in < 0 || in >= len(layers) {
			return Shape{}, fmt.Errorf("input %d is not an earlier layer", in)
		}
	}
	need := func(n int) error {
		if len(l.Inputs) != n {
			return fmt.Errorf("takes %d input(s), has %d", n, len(l.Inputs))
		}
		return nil
	}
	switch l.Kind {
	case Conv:
		if err := need(1); err != nil {
			return Shape{}, err
		}
		in := layers[l.Inputs[0]].Shape
		if l.Kernel < 1 || l.Stride < 1 || l.Dilation < 1 || l.Groups < 1 || l.OutC < 1 {
			return Shape{}, fmt.Errorf("kernel %d, stride %d, dilation %d, groups %d, out channels %d: all must be positive", l.Kernel, l.Stride, l.Dilation, l.Groups, l.OutC)
		}
		if in.C%l.Groups != 0 || l.OutC%l.Groups != 0 {
			return Shape{}, fmt.Errorf("%d groups do not divide %d input and %d output channels", l.Groups, in.C, l.OutC)
		}
		h, w := convOut(in.H, l.Kernel, l.Stride, l.Pad, l.Dilation), convOut(in.W, l.Kernel, l.Stride, l.Pad, l.Dilation)
		if h < 1 || w < 1 {
			return Shape{}, fmt.Errorf("input %v is too small for kernel %d", in, l.Kernel)
		}
		return Shape{l.OutC, h, w}, nil
	case BatchNorm, ReLU, Identity:
		if err := need(1); err != nil {
			return Shape{}, err
		}
		return layers[l.Inputs[0]].Shape, nil
	case MaxPool, AvgPool:
		if err := need(1); err != nil {
			return Shape{}, err
		}
		in := layers[l.Inputs[0]].Shape
		if l.Kernel < 1 || l.Stride < 1 {
			return Shape{}, fmt.Errorf("kernel %d and stride %d must be positive", l.Kernel, l.Stride)
		}
		h, w := convOut(in.H, l.Kernel, l.Stride, l.Pad, 1), convOut(in.W, l.Kernel, l.Stride, l.Pad, 1)
		if h < 1 || w < 1 {
			return Shape{}, fmt.Errorf("input %v is too small for kernel %d", in, l.Kernel)
		}
		return Shape{in.C, h, w}, nil
	case Zero:
		if err := need(1); err != nil {
			return Shape{}, err
		}
		in := layers[l.Inputs[0]].Shape
		s := max(l.Stride, 1)
		c := in.C
		if l.OutC > 0 {
			c = l.OutC
		}
		return Shape{c, (in.H-1)/s + 1, (in.W-1)/s + 1}, nil
	case GlobalPool:
		if err := need(1); err != nil {
			return Shape{}, err
		}
		return Shape{layers[l.Inputs[0]].Shape.C, 1, 1}, nil
	case FactReduce:
		if err := need(1); err != nil {
			return Shape{}, err
		}
		in := layers[l.Inputs[0]].Shape
		if l.OutC < 2 || l.OutC%2 != 0 {
			return Shape{}, fmt.Errorf("out channels %d must be even", l.OutC)
		}
		return Shape{l.OutC, (in.H-1)/2 + 1, (in.W-1)/2 + 1}, nil
	case Linear:
		if err := need(1); err != nil {
			return Shape{}, err
		}
		in := layers[l.Inputs[0]].Shape
		if in.H != 1 || in.W != 1 {
			return Shape{}, fmt.Errorf("input %v must be Cx1x1 (pool first)", in)
		}
		if l.OutC < 1 {
			return Shape{}, fmt.Errorf("out features %d must be positive", l.OutC)
		}
		return Shape{l.OutC, 1, 1}, nil
	case Add:
		if len(l.Inputs) < 2 {
			return Shape{}, fmt.Errorf("takes two or more inputs, has %d", len(l.Inputs))
		}
		s := layers[l.Inputs[0]].Shape
		for _, in := range l.Inputs[1:] {
			if t := layers[in].Shape; t != s {
				return Shape{}, fmt.Errorf("input shapes differ: %v (layer %d) and %v (layer %d)", s, l.Inputs[0], t, in)
			}
		}
		return s, nil
	case Concat:
		if len(l.Inputs) < 1 {
			return Shape{}, fmt.Errorf("takes one or more inputs")
		}
		s := layers[l.Inputs[0]].Shape
		c := 0
		for _, in := range l.Inputs {
			t := layers[in].Shape
			if t.H != s.H || t.W != s.W {
				return Shape{}, fmt.Errorf("spatial sizes differ: %v (layer %d) and %v (layer %d)", s, l.Inputs[0], t, in)
			}
			c += t.C
		}
		return Shape{c, s.H, s.W}, nil
	}
	return Shape{}, fmt.Errorf("unknown layer kind %q", l.Kind)
}

// Params counts the trainable parameters: conv and linear weights and biases, and the
// scale and shift of affine batch norms (running statistics are buffers, not parameters).
func (n *Net) Params() int {
	total := 0
	for _, l := range n.Layers {
		total += n.LayerParams(l)
	}
	return total
}

func (n *Net) inShape(l Layer) Shape { return n.Layers[l.Inputs[0]].Shape }

// Live marks the layers the output depends on: those with a path to Output that does
// not pass through a Zero layer (whose value does not depend on its input). The others
// are computed and trained to no effect, like an NB201 node whose edges never reach
// the cell's output.
func (n *Net) Live() []bool {
	live := make([]bool, len(n.Layers))
	live[n.Output] = true
	for i := n.Output; i > 0; i-- { // inputs come before the layers that read them
		if !live[i] || n.Layers[i].Kind == Zero {
			continue
		}
		for _, in := range n.Layers[i].Inputs {
			live[in] = true
		}
	}
	return live
}

// LiveParams counts the parameters of the Live layers: the ones the output depends
// on. Params counts a dead branch's too, so two networks that compute the same
// function can differ in Params but not in LiveParams.
func (n *Net) LiveParams() int {
	total := 0
	for i, live := range n.Live() {
		if live {
			total += n.LayerParams(n.Layers[i])
		}
	}
	return total
}

// LayerParams is one layer's share of Params.
func (n *Net) LayerParams(l Layer) int {
	switch l.Kind {
	case Conv:
		p := n.inShape(l).C / l.Groups * l.OutC * l.Kernel * l.Kernel
		if l.Bias {
			p += l.OutC
		}
		return p
	case BatchNorm:
		if l.Affine {
			return 2 * l.Shape.C
		}
	case FactReduce:
		return 2 * n.inShape(l).C * (l.OutC / 2)
	case Linear:
		p := n.inShape(l).C * l.OutC
		if l.Bias {
			p += l.OutC
		}
		return p
	}
	return 0
}

// FLOPs counts multiply-accumulate operations for one sample, the convention of the NAS
// literature (NAS-Bench-201 and the EfficientNet papers report these as FLOPs): convs,
// factorized reductions and linear layers, plus one operation per window element for
// pools. Normalisation, activations and additions are not counted.
func (n *Net) FLOPs() int64 {
	var total int64
	for _, l := range n.Layers {
		total += n.LayerFLOPs(l)
	}
	return total
}

// LayerFLOPs is one layer's share of FLOPs (multiply-adds of convs and linears, the
// window sums of pools).
func (n *Net) LayerFLOPs(l Layer) int64 {
	out := int64(l.Shape.Elems())
	switch l.Kind {
	case Conv:
		return out * int64(n.inShape(l).C/l.Groups*l.Kernel*l.Kernel)
	case FactReduce:
		return out * int64(n.inShape(l).C)
	case Linear:
		return int64(n.inShape(l).C) * int64(l.OutC)
	case MaxPool, AvgPool:
		return out * int64(l.Kernel*l.Kernel)
	case GlobalPool:
		return int64(n.inShape(l).Elems())
	}
	return 0
}

// Summary is a one-line description for logs and tests.
func (n *Net) Summary() string {
	counts := map[Kind]int{}
	for _, l := range n.Layers {
		counts[l.Kind]++
	}
	var parts []string
	for _, k := range []Kind{Conv, BatchNorm, ReLU, MaxPool, AvgPool, Add, Concat, Zero, FactReduce, Linear} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", k, counts[k]))
		}
	}
	return fmt.Sprintf("%d layers (%s), %d params, %d FLOPs", len(n.Layers), strings.Join(parts, " "), n.Params(), n.FLOPs())
}

// Cuts lists the layers, other than the input (layer 0) and the output, that every
// path from the input to the output passes through, in order. Scaling a cut's output
// scales every path alike.
func (n *Net) Cuts() []int {
	var cuts []int
	reach := make([]bool, len(n.Layers))
	for v := 1; v < n.Output; v++ {
		for i, l := range n.Layers {
			reach[i] = false
			if i == v {
				continue
			}
			if l.Kind == Input {
				reach[i] = true
				continue
			}
			for _, in := range l.Inputs {
				if reach[in] {
					reach[i] = true
					break
				}
			}
		}
		if !reach[n.Output] {
			cuts = append(cuts, v)
		}
	}
	return cuts
}

// NetBuilder builds a network layer by layer outside the spaces, inferring each
// layer's shape, for tools and tests that need a network of their own.
type NetBuilder struct{ b *builder }

// NewNetBuilder starts a network with an input of shape in (layer 0).
func NewNetBuilder(in Shape) *NetBuilder { return &NetBuilder{newBuilder(in)} }

// Add appends a layer (its ID and Shape are filled in) and returns its ID.
func (nb *NetBuilder) Add(l Layer) int { return nb.b.add(l) }

// Finish ends the network at layer out, or reports the first bad layer.
func (nb *NetBuilder) Finish(out int) (*Net, error) { return nb.b.finish(out) }
