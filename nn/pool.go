package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// poolGeom is a max or average pool. The average counts only positions inside the
// input (PyTorch's count_include_pad=False, as NAS-Bench-201 and DARTS use); the max
// ignores padding.
type poolGeom struct {
	Max            bool
	N, C, H, W     int
	K, Stride, Pad int
	OutH, OutW     int
}

func (g poolGeom) String() string {
	kind := "avgpool"
	if g.Max {
		kind = "maxpool"
	}
	return fmt.Sprintf("%s(k%d s%d p%d %dx%dx%d->%dx%d)", kind, g.K, g.Stride, g.Pad, g.C, g.H, g.W, g.OutH, g.OutW)
}

// span is the input range [lo, hi) of output position o's window along a dimension
// of n positions.
func (g poolGeom) span(o, n int) (lo, hi int) {
	lo = o*g.Stride - g.Pad
	return max(lo, 0), min(lo+g.K, n)
}

// forward pools x into y; with dy and dx set instead, it routes dy back into dx.
func (g poolGeom) run(x, y, dy, dx []float32) {
	planes := g.N * g.C
	in, out := g.H*g.W, g.OutH*g.OutW
	forChunks(planes, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*in : (p+1)*in]
			for oh := 0; oh < g.OutH; oh++ {
				h0, h1 := g.span(oh, g.H)
				for ow := 0; ow < g.OutW; ow++ {
					w0, w1 := g.span(ow, g.W)
					o := p*out + oh*g.OutW + ow
					if g.Max {
						best, at := float32(math.Inf(-1)), -1
						for ih := h0; ih < h1; ih++ {
							for i := ih*g.W + w0; i < ih*g.W+w1; i++ {
								if xp[i] > best {
									best, at = xp[i], i
								}
							}
						}
						if dx == nil {
							y[o] = best
						} else {
							dx[p*in+at] += dy[o]
						}
						continue
					}
					if dx == nil {
						y[o] = g.average(xp, h0, h1, w0, w1)
						continue
					}
					share := dy[o] / float32((h1-h0)*(w1-w0))
					for ih := h0; ih < h1; ih++ {
						d := dx[p*in+ih*g.W+w0 : p*in+ih*g.W+w1]
						for i := range d {
							d[i] += share
						}
					}
				}
			}
		}
	})
}

// average is the mean of xp's window [h0, h1) x [w0, w1), summed in raster order.
func (g poolGeom) average(xp []float32, h0, h1, w0, w1 int) float32 {
	var sum float32
	for ih := h0; ih < h1; ih++ {
		for _, v := range xp[ih*g.W+w0 : ih*g.W+w1] {
			sum += v
		}
	}
	return sum / float32((h1-h0)*(w1-w0))
}

// box3 says g is the 3x3 average pool of stride 1 that keeps the size (NB201's and
// DARTS' avg_pool_3x3), which runs on box3Forward and box3Backward: run's loops,
// unrolled for the positions whose window is whole. They add in run's order, so
// their results are run's to the bit (TestBox3PoolIsRuns), and a search or a
// ground-truth table trained before them trains the same.
func (g poolGeom) box3() bool {
	return !g.Max && g.K == 3 && g.Stride == 1 && g.Pad == 1 && g.OutH == g.H && g.OutW == g.W
}

// box3Forward is run's forward pass for a box3 pool.
func (g poolGeom) box3Forward(x, y []float32) {
	W, plane := g.W, g.H*g.W
	forChunks(g.N*g.C, func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			xp, yp := x[p*plane:(p+1)*plane], y[p*plane:(p+1)*plane]
			for h := 0; h < g.H; h++ {
				for w := 0; w < W; w++ {
					i := h*W + w
					if h == 0 || h == g.H-1 || w == 0 || w == W-1 {
						h0, h1 := g.span(h, g.H)
						w0, w1 := g.span(w, W)
						yp[i] = g.average(xp, h0, h1, w0, w1)
						continue
					}
					var sum float32 // from zero, as average sums
					sum = sum + xp[i-W-1] + xp[i-W] + xp[i-W+1] + xp[i-1] + xp[i] + xp[i+1] + xp[i+W-1] + xp[i+W] + xp[i+W+1]
					yp[i] = sum / 9
				}
			}
		}
	})
}

// box3Backward is run's backward pass for a box3 pool, into a dx it overwrites.
// run adds each output's share into the inputs of its window, output by output in
// raster order; here each input sums the shares of the outputs whose windows hold
// it, in the same order.
func (g poolGeom) box3Backward(dy, dx []float32) {
	W, plane := g.W, g.H*g.W
	forChunks(g.N*g.C, func(_, lo, hi int) {
		share := make([]float32, plane)
		for p := lo; p < hi; p++ {
			dyp, dxp := dy[p*plane:(p+1)*plane], dx[p*plane:(p+1)*plane]
			for h := 0; h < g.H; h++ {
				h0, h1 := g.span(h, g.H)
				for w := 0; w < W; w++ {
					w0, w1 := g.span(w, W)
					share[h*W+w] = dyp[h*W+w] / float32((h1-h0)*(w1-w0))
				}
			}
			for h := 0; h < g.H; h++ {
				for w := 0; w < W; w++ {
					i := h*W + w
					var sum float32
					if h == 0 || h == g.H-1 || w == 0 || w == W-1 {
						for oh := max(h-1, 0); oh <= min(h+1, g.H-1); oh++ {
							for ow := max(w-1, 0); ow <= min(w+1, W-1); ow++ {
								sum += share[oh*W+ow]
							}
						}
					} else {
						sum = sum + share[i-W-1] + share[i-W] + share[i-W+1] + share[i-1] + share[i] + share[i+1] + share[i+W-1] + share[i+W] + share[i+W+1]
					}
					dxp[i] = sum
				}
			}
		}
	})
}

type poolOp struct {
	opBase
	g poolGeom
}

func (op *poolOp) Arity() int            { return 1 }
func (op *poolOp) Type() hm.Type         { return fnType(1) }
func (op *poolOp) String() string        { return op.g.String() }
func (op *poolOp) Hashcode() uint32      { return hashOf(op) }
func (op *poolOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *poolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.g.N, op.g.C, op.g.OutH, op.g.OutW}, nil
}

func (op *poolOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, _, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	shape := tensor.Shape{op.g.N, op.g.C, op.g.OutH, op.g.OutW}
	if y, ok := op.stale(shape.TotalSize()); ok {
		return newDense(shape, y), nil
	}
	y := op.out(shape.TotalSize())
	if op.g.box3() {
		op.g.box3Forward(x, y)
	} else {
		op.g.run(x, y, nil, nil)
	}
	return newDense(shape, y), nil
}

func (op *poolOp) DiffWRT(int) []bool { return []bool{true} }

func (op *poolOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	g := op.g
	dx, err := G.ApplyOp(&inputGradOp{opBase: opBase{skips: op.skips}, name: g.String() + ".grad", dims: 4, grad: func(x, dy, dx []float32) {
		if g.box3() {
			g.box3Backward(dy, dx)
			return
		}
		clear(dx)
		g.run(x, nil, dy, dx)
	}}, in[0], grad)
	return G.Nodes{dx}, err
}

// zeroOp is the "none" op: zeros of the output shape. It keeps its input in the
// graph (with a zero gradient) so every parameter stays connected to the loss.
type zeroOp struct {
	opBase
	shape tensor.Shape
	grad  bool // the gradient of a zero: named apart so it is never merged with a forward zero
}

func (op *zeroOp) Arity() int            { return 1 }
func (op *zeroOp) Type() hm.Type         { return fnType(1) }
func (op *zeroOp) String() string        { return fmt.Sprintf("zero%v(grad=%v)", op.shape, op.grad) }
func (op *zeroOp) Hashcode() uint32      { return hashOf(op) }
func (op *zeroOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *zeroOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }

func (op *zeroOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	z := op.out(op.shape.TotalSize())
	clear(z) // gorgonia may have summed gradients into it in place
	return newDense(op.shape.Clone(), z), nil
}

func (op *zeroOp) DiffWRT(int) []bool { return []bool{true} }

func (op *zeroOp) SymDiff(in G.Nodes, _, _ *G.Node) (G.Nodes, error) {
	s := in[0].Shape()
	dx, err := G.ApplyOp(&zeroOp{shape: s.Clone(), grad: true}, in[0])
	return G.Nodes{dx}, err
}

// globalPoolOp averages each channel's plane: N x C x H x W to N x C x 1 x 1.
type globalPoolOp struct{ opBase }

func (op *globalPoolOp) Arity() int            { return 1 }
func (op *globalPoolOp) Type() hm.Type         { return fnType(1) }
func (op *globalPoolOp) String() string        { return "globalpool" }
func (op *globalPoolOp) Hashcode() uint32      { return hashOf(op) }
func (op *globalPoolOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *globalPoolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{s[0], s[1], 1, 1}, nil
}

func (op *globalPoolOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, s, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	plane := s[2] * s[3]
	y := op.out(s[0] * s[1])
	for p := range y {
		var sum float32
		for _, v := range x[p*plane : (p+1)*plane] {
			sum += v
		}
		y[p] = sum / float32(plane)
	}
	return newDense(tensor.Shape{s[0], s[1], 1, 1}, y), nil
}

func (op *globalPoolOp) DiffWRT(int) []bool { return []bool{true} }

func (op *globalPoolOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	plane := in[0].Shape()[2] * in[0].Shape()[3]
	dx, err := G.ApplyOp(&inputGradOp{name: "globalpool.grad", dims: 4, grad: func(_, dy, dx []float32) {
		for p, g := range dy { // spread each plane's gradient evenly over it
			share := g / float32(plane)
			for j := p * plane; j < (p+1)*plane; j++ {
				dx[j] = share
			}
		}
	}}, in[0], grad)
	return G.Nodes{dx}, err
}
