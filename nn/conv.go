package nn

import (
	"fmt"
	"hash"
	"slices"
	"sync"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/nn/internal/gemm"
)

// convGeom is a 2-d convolution's geometry. PadH and PadW are the offsets of the first
// window (they may be negative: factorized reduce's shifted path starts one pixel in);
// reads outside the input are zeros. Groups split the channels as in PyTorch.
type convGeom struct {
	N, C, H, W  int // input
	K, OutC     int
	Stride, Dil int
	PadH, PadW  int
	Groups      int
	OutH, OutW  int
}

func (g convGeom) cinG() int  { return g.C / g.Groups }
func (g convGeom) coutG() int { return g.OutC / g.Groups }
func (g convGeom) colRows() int {
	return g.cinG() * g.K * g.K
}
func (g convGeom) outHW() int { return g.OutH * g.OutW }

func (g convGeom) String() string {
	return fmt.Sprintf("conv(k%d s%d d%d p%d,%d g%d %dx%dx%d->%dx%dx%d)", g.K, g.Stride, g.Dil, g.PadH, g.PadW, g.Groups, g.C, g.H, g.W, g.OutC, g.OutH, g.OutW)
}

// owRange is the range [lo, hi) of output columns whose input column for kernel
// column kw lies inside the input: the rest read zeros.
func (g convGeom) owRange(kw int) (lo, hi int) {
	off := kw*g.Dil - g.PadW // input column = ow*Stride + off
	lo = 0
	if off < 0 {
		lo = (-off + g.Stride - 1) / g.Stride
	}
	hi = g.OutW
	if last := (g.W - 1 - off); last < 0 {
		hi = 0
	} else if n := last/g.Stride + 1; n < hi {
		hi = n
	}
	return min(lo, hi), hi
}

// im2col writes group g of sample x (C x H x W) into cols (colRows x outHW, rows ld
// floats apart and zero past outHW). Each output row is a strided run of an input row;
// runs with stride 1 are copies.
func (g convGeom) im2col(x []float32, grp int, cols []float32, ld int) {
	hw := g.outHW()
	row := 0
	for c := grp * g.cinG(); c < (grp+1)*g.cinG(); c++ {
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := 0; kh < g.K; kh++ {
			for kw := 0; kw < g.K; kw++ {
				dst := cols[row*ld : row*ld+hw]
				clear(cols[row*ld+hw : (row+1)*ld])
				lo, hi := g.owRange(kw)
				off := kw*g.Dil - g.PadW
				for oh := 0; oh < g.OutH; oh++ {
					d := dst[oh*g.OutW : (oh+1)*g.OutW]
					ih := oh*g.Stride - g.PadH + kh*g.Dil
					if ih < 0 || ih >= g.H {
						clear(d)
						continue
					}
					src := plane[ih*g.W : (ih+1)*g.W]
					clear(d[:lo])
					clear(d[hi:])
					if g.Stride == 1 {
						if lo < hi { // else every column reads padding (a kernel wider than the input)
							copy(d[lo:hi], src[lo+off:hi+off])
						}
						continue
					}
					for ow := lo; ow < hi; ow++ {
						d[ow] = src[ow*g.Stride+off]
					}
				}
				row++
			}
		}
	}
}

// col2im adds cols (colRows x outHW, rows ld floats apart) back into group g of sample
// dx.
func (g convGeom) col2im(cols []float32, grp int, dx []float32, ld int) {
	hw := g.outHW()
	row := 0
	for c := grp * g.cinG(); c < (grp+1)*g.cinG(); c++ {
		plane := dx[c*g.H*g.W : (c+1)*g.H*g.W]
		for kh := 0; kh < g.K; kh++ {
			for kw := 0; kw < g.K; kw++ {
				src := cols[row*ld : row*ld+hw]
				lo, hi := g.owRange(kw)
				off := kw*g.Dil - g.PadW
				for oh := 0; oh < g.OutH; oh++ {
					ih := oh*g.Stride - g.PadH + kh*g.Dil
					if ih < 0 || ih >= g.H {
						continue
					}
					s := src[oh*g.OutW : (oh+1)*g.OutW]
					dst := plane[ih*g.W : (ih+1)*g.W]
					if g.Stride == 1 {
						if lo >= hi {
							continue
						}
						d := dst[lo+off : hi+off]
						for i, v := range s[lo:hi] {
							d[i] += v
						}
						continue
					}
					for ow := lo; ow < hi; ow++ {
						dst[ow*g.Stride+off] += s[ow]
					}
				}
				row++
			}
		}
	}
}

// direct says whether the input itself is the im2col matrix: a 1x1 conv of stride 1
// without padding.
func (g convGeom) direct() bool {
	return g.K == 1 && g.Stride == 1 && g.PadH == 0 && g.PadW == 0 && g.OutH == g.H && g.OutW == g.W
}

func (g convGeom) depthwise() bool { return g.Groups == g.C && g.Groups == g.OutC }

// forward computes y (N x OutC x OutH x OutW) from x and w (OutC x C/Groups x K x K).
func (g convGeom) forward(x, w, y []float32) { g.forwardThen(x, w, y, nil) }

// forwardThen is forward, calling then (if not nil) on each piece of the batch as
// soon as its output is written, while it is still in the core's cache.
func (g convGeom) forwardThen(x, w, y []float32, then func(chunk, lo, hi int)) {
	if then == nil {
		then = func(int, int, int) {}
	}
	if g.fast() {
		panels := g.weightPanels(w)
		forChunks(g.N, func(c, lo, hi int) {
			if g.implicit() {
				g.implicitForward(x, panels, y, lo, hi)
			} else {
				g.im2colForward(x, panels, y, lo, hi)
			}
			then(c, lo, hi)
		})
		return
	}
	inSz, outSz, hw := g.C*g.H*g.W, g.OutC*g.outHW(), g.outHW()
	forChunks(g.N, func(c, lo, hi int) {
		defer then(c, lo, hi)
		if g.depthwise() {
			for n := lo; n < hi; n++ {
				g.dwForward(x[n*inSz:(n+1)*inSz], w, y[n*outSz:(n+1)*outSz])
			}
			return
		}
		cols := getBuf(g.colRows() * hw)
		defer putBuf(cols)
		for n := lo; n < hi; n++ {
			for grp := 0; grp < g.Groups; grp++ {
				in := cols
				if g.direct() {
					in = x[n*inSz+grp*g.colRows()*hw : n*inSz+(grp+1)*g.colRows()*hw]
				} else {
					g.im2col(x[n*inSz:(n+1)*inSz], grp, cols, hw)
				}
				wg := w[grp*g.coutG()*g.colRows() : (grp+1)*g.coutG()*g.colRows()]
				yg := y[n*outSz+grp*g.coutG()*hw : n*outSz+(grp+1)*g.coutG()*hw]
				sgemm(false, false, g.coutG(), hw, g.colRows(), wg, in, 0, yg)
			}
		}
	})
}

// backwardX computes dx from w and dy.
func (g convGeom) backwardX(w, dy, dx []float32) {
	if g.fast() && g.implicit() {
		t, panels := g.transposed(), g.flippedPanels(w)
		forChunks(g.N, func(_, lo, hi int) { t.implicitForward(dy, panels, dx, lo, hi) })
		return
	}
	inSz, outSz, hw := g.C*g.H*g.W, g.OutC*g.outHW(), g.outHW()
	clear(dx)
	if g.fast() {
		panels := g.transposedPanels(w)
		forChunks(g.N, func(_, lo, hi int) { g.im2colInputGrad(panels, dy, dx, lo, hi) })
		return
	}
	forChunks(g.N, func(_, lo, hi int) {
		if g.depthwise() {
			for n := lo; n < hi; n++ {
				g.dwBackwardX(w, dy[n*outSz:(n+1)*outSz], dx[n*inSz:(n+1)*inSz])
			}
			return
		}
		cols := getBuf(g.colRows() * hw)
		defer putBuf(cols)
		for n := lo; n < hi; n++ {
			for grp := 0; grp < g.Groups; grp++ {
				wg := w[grp*g.coutG()*g.colRows() : (grp+1)*g.coutG()*g.colRows()]
				dyg := dy[n*outSz+grp*g.coutG()*hw : n*outSz+(grp+1)*g.coutG()*hw]
				if g.direct() {
					sgemm(true, false, g.colRows(), hw, g.coutG(), wg, dyg, 0, dx[n*inSz+grp*g.colRows()*hw:n*inSz+(grp+1)*g.colRows()*hw])
					continue
				}
				sgemm(true, false, g.colRows(), hw, g.coutG(), wg, dyg, 0, cols)
				g.col2im(cols, grp, dx[n*inSz:(n+1)*inSz], hw)
			}
		}
	})
}

// backwardW computes dw from x and dy, summing per-chunk partial gradients in chunk
// order.
func (g convGeom) backwardW(x, dy, dw []float32) {
	partial := make([][]float32, min(chunks, g.N))
	if g.fast() {
		forChunks(g.N, func(c, lo, hi int) {
			partial[c] = make([]float32, gemm.RoundUp(g.OutC, gemm.DotTile)*gemm.RoundUp(g.colRows(), gemm.DotTile))
			if g.implicit() && g.sameRows() {
				g.implicitWeightGrad(x, dy, partial[c], lo, hi)
			} else {
				g.im2colWeightGrad(x, dy, partial[c], lo, hi)
			}
		})
		g.addPartials(dw, partial)
		return
	}
	inSz, outSz, hw := g.C*g.H*g.W, g.OutC*g.outHW(), g.outHW()
	forChunks(g.N, func(c, lo, hi int) {
		acc := make([]float32, len(dw))
		partial[c] = acc
		if g.depthwise() {
			for n := lo; n < hi; n++ {
				g.dwBackwardW(x[n*inSz:(n+1)*inSz], dy[n*outSz:(n+1)*outSz], acc)
			}
			return
		}
		cols := getBuf(g.colRows() * hw)
		defer putBuf(cols)
		for n := lo; n < hi; n++ {
			for grp := 0; grp < g.Groups; grp++ {
				in := cols
				if g.direct() {
					in = x[n*inSz+grp*g.colRows()*hw : n*inSz+(grp+1)*g.colRows()*hw]
				} else {
					g.im2col(x[n*inSz:(n+1)*inSz], grp, cols, hw)
				}
				dyg := dy[n*outSz+grp*g.coutG()*hw : n*outSz+(grp+1)*g.coutG()*hw]
				accg := acc[grp*g.coutG()*g.colRows() : (grp+1)*g.coutG()*g.colRows()]
				sgemm(false, true, g.coutG(), g.colRows(), hw, dyg, in, 1, accg)
			}
		}
	})
	clear(dw)
	for _, p := range partial {
		for i, v := range p {
			dw[i] += v
		}
	}
}

// Depthwise convolution, one channel at a time, without im2col: by planes (depthwise.go)
// when the padding is not negative, else by the defining sums below.

func (g convGeom) dwForward(x, w, y []float32) {
	if g.byPlanes() {
		g.planeForward(x, w, y)
		return
	}
	g.sumsForward(x, w, y)
}

func (g convGeom) dwBackwardX(w, dy, dx []float32) {
	if g.byPlanes() {
		g.planeBackwardX(w, dy, dx)
		return
	}
	g.sumsBackwardX(w, dy, dx)
}

func (g convGeom) dwBackwardW(x, dy, dw []float32) {
	if g.byPlanes() {
		g.planeBackwardW(x, dy, dw)
		return
	}
	g.sumsBackwardW(x, dy, dw)
}

func (g convGeom) sumsForward(x, w, y []float32) {
	hw := g.outHW()
	for c := 0; c < g.C; c++ {
		plane, out, k := x[c*g.H*g.W:(c+1)*g.H*g.W], y[c*hw:(c+1)*hw], w[c*g.K*g.K:(c+1)*g.K*g.K]
		for oh := 0; oh < g.OutH; oh++ {
			for ow := 0; ow < g.OutW; ow++ {
				var s float32
				for kh := 0; kh < g.K; kh++ {
					ih := oh*g.Stride - g.PadH + kh*g.Dil
					if ih < 0 || ih >= g.H {
						continue
					}
					for kw := 0; kw < g.K; kw++ {
						iw := ow*g.Stride - g.PadW + kw*g.Dil
						if iw >= 0 && iw < g.W {
							s += plane[ih*g.W+iw] * k[kh*g.K+kw]
						}
					}
				}
				out[oh*g.OutW+ow] = s
			}
		}
	}
}

func (g convGeom) sumsBackwardX(w, dy, dx []float32) {
	hw := g.outHW()
	for c := 0; c < g.C; c++ {
		plane, d, k := dx[c*g.H*g.W:(c+1)*g.H*g.W], dy[c*hw:(c+1)*hw], w[c*g.K*g.K:(c+1)*g.K*g.K]
		for oh := 0; oh < g.OutH; oh++ {
			for ow := 0; ow < g.OutW; ow++ {
				v := d[oh*g.OutW+ow]
				for kh := 0; kh < g.K; kh++ {
					ih := oh*g.Stride - g.PadH + kh*g.Dil
					if ih < 0 || ih >= g.H {
						continue
					}
					for kw := 0; kw < g.K; kw++ {
						iw := ow*g.Stride - g.PadW + kw*g.Dil
						if iw >= 0 && iw < g.W {
							plane[ih*g.W+iw] += v * k[kh*g.K+kw]
						}
					}
				}
			}
		}
	}
}

func (g convGeom) sumsBackwardW(x, dy, dw []float32) {
	hw := g.outHW()
	for c := 0; c < g.C; c++ {
		plane, d, k := x[c*g.H*g.W:(c+1)*g.H*g.W], dy[c*hw:(c+1)*hw], dw[c*g.K*g.K:(c+1)*g.K*g.K]
		for oh := 0; oh < g.OutH; oh++ {
			for ow := 0; ow < g.OutW; ow++ {
				v := d[oh*g.OutW+ow]
				for kh := 0; kh < g.K; kh++ {
					ih := oh*g.Stride - g.PadH + kh*g.Dil
					if ih < 0 || ih >= g.H {
						continue
					}
					for kw := 0; kw < g.K; kw++ {
						iw := ow*g.Stride - g.PadW + kw*g.Dil
						if iw >= 0 && iw < g.W {
							k[kh*g.K+kw] += v * plane[ih*g.W+iw]
						}
					}
				}
			}
		}
	}
}

// sgemm is C = op(A) op(B) + beta C for row-major A (m x k), B (k x n), C (m x n).
func sgemm(transA, transB bool, m, n, k int, a, b []float32, beta float32, c []float32) {
	ta, tb := blas.NoTrans, blas.NoTrans
	lda, ldb := k, n
	if transA {
		ta, lda = blas.Trans, m
	}
	if transB {
		tb, ldb = blas.Trans, k
	}
	blasImpl.Sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, beta, c, n)
}

// scratch holds the working buffers that conv chunks borrow. Unlike a sync.Pool it
// is not emptied by garbage collection, which training triggers several times a
// step: buffers of half a megabyte allocated afresh each time cost more in page
// faults than the copies into them. It keeps at most scratchKeep buffers.
var scratch struct {
	sync.Mutex
	free [][]float32
}

const scratchKeep = 64

// getBuf returns n floats of scratch memory with stale contents: the smallest kept
// buffer that holds n, or a new one.
func getBuf(n int) []float32 {
	scratch.Lock()
	defer scratch.Unlock()
	best := -1
	for i, b := range scratch.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(scratch.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return make([]float32, n)
	}
	b := scratch.free[best]
	scratch.free = slices.Delete(scratch.free, best, best+1)
	return b[:n]
}

// putBuf gives b back, dropping the smallest kept buffer when there are too many.
func putBuf(b []float32) {
	scratch.Lock()
	defer scratch.Unlock()
	scratch.free = append(scratch.free, b)
	if len(scratch.free) > scratchKeep {
		small := 0
		for i, f := range scratch.free {
			if cap(f) < cap(scratch.free[small]) {
				small = i
			}
		}
		scratch.free = slices.Delete(scratch.free, small, small+1)
	}
}

// convOp is y = conv(x, w).
type convOp struct {
	opBase
	g convGeom
	// stats, set when a batch norm reads the output (see bnOp.src), has the forward
	// pass also sum each channel of its output and its square, piece by piece of the
	// batch while the piece is in cache, which saves the batch norm a pass over it.
	// fresh says the sums are of the last output and not yet used.
	stats      bool
	sum, sumSq []float64
	fresh      bool
	gen        uint64 // forward passes computed, for the gradient ops (convGrads)
}

func (op *convOp) Arity() int            { return 2 }
func (op *convOp) Type() hm.Type         { return fnType(2) }
func (op *convOp) String() string        { return op.g.String() }
func (op *convOp) Hashcode() uint32      { return hashOf(op) }
func (op *convOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{s[0], op.g.OutC, op.g.OutH, op.g.OutW}, nil
}

func (op *convOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, _, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	w, _, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	shape := tensor.Shape{op.g.N, op.g.OutC, op.g.OutH, op.g.OutW}
	if y, ok := op.stale(shape.TotalSize()); ok {
		return newDense(shape, y), nil
	}
	y := op.out(shape.TotalSize())
	op.gen++
	if !op.stats {
		op.g.forward(x, w, y)
		return newDense(shape, y), nil
	}
	plane := op.g.outHW()
	partial := make([][]float64, min(chunks, op.g.N))
	op.g.forwardThen(x, w, y, func(c, lo, hi int) {
		partial[c] = channelSums(y[lo*op.g.OutC*plane:hi*op.g.OutC*plane], hi-lo, op.g.OutC, plane)
	})
	op.sum, op.sumSq = addSums(partial, op.g.OutC)
	op.fresh = true
	return newDense(shape, y), nil
}

func (op *convOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *convOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	pair := &convGrads{fwd: op}
	dx, err := G.ApplyOp(&convGradOp{g: op.g, wrtW: false, pair: pair, opBase: opBase{skips: op.skips}}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&convGradOp{g: op.g, wrtW: true, pair: pair, opBase: opBase{skips: op.skips}}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw}, nil
}

// convGradOp is the gradient of a conv with respect to its input (wrtW false) or its
// weights, from (x, w, dy).
type convGradOp struct {
	opBase
	g    convGeom
	wrtW bool
	pair *convGrads
}

// convGrads is what a conv's two gradient ops share. On the AVX-512 path the input
// gradient's op computes the weight gradient too, in the same pass over the padded
// output gradient (see implicitGrads), and leaves it here for the other op, which
// computes it itself only if it runs first. gen says which forward pass dw is of.
type convGrads struct {
	fwd *convOp
	dw  []float32
	gen uint64
}

func (op *convGradOp) Arity() int    { return 3 }
func (op *convGradOp) Type() hm.Type { return fnType(3) }
func (op *convGradOp) String() string {
	return fmt.Sprintf("%s.grad(w=%v)", op.g, op.wrtW)
}
func (op *convGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *convGradOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *convGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if op.wrtW {
		return sameShape(in, 1)
	}
	return sameShape(in, 0)
}

func (op *convGradOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, xs, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	w, ws, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(in[2])
	if err != nil {
		return nil, err
	}
	pair := op.pair
	if op.wrtW {
		if z, ok := op.zeros(len(w)); ok {
			return newDense(ws.Clone(), z), nil
		}
		if pair != nil && pair.gen == pair.fwd.gen && len(pair.dw) == len(w) {
			return newDense(ws.Clone(), pair.dw), nil
		}
		dw := op.out(len(w))
		op.g.backwardW(x, dy, dw)
		if pair != nil {
			pair.gen = pair.fwd.gen // the input gradient's op need not compute it
		}
		return newDense(ws.Clone(), dw), nil
	}
	if z, ok := op.zeros(len(x)); ok {
		return newDense(xs.Clone(), z), nil
	}
	dx := op.out(len(x))
	if pair != nil && pair.gen != pair.fwd.gen && op.g.fusedGrads() {
		if len(pair.dw) != len(w) {
			pair.dw = make([]float32, len(w))
		}
		op.g.implicitGrads(x, w, dy, dx, pair.dw)
		pair.gen = pair.fwd.gen
		return newDense(xs.Clone(), dx), nil
	}
	op.g.backwardX(w, dy, dx)
	return newDense(xs.Clone(), dx), nil
}
