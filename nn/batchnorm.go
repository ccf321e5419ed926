package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"cellar/nn/internal/vec"
)

// bnOp is per-channel batch norm of an N x C x H x W input, y = gamma*xhat + beta:
// in training, xhat uses the batch's statistics and updates the running ones (PyTorch's
// momentum 0.1 and unbiased running variance); in evaluation it uses the running ones.
type bnOp struct {
	opBase
	name        string
	c           int
	eps         float32
	momentum    float32
	training    bool
	runningMean []float32
	runningVar  []float32
	// The statistics of the last forward pass, which the gradient ops of the same
	// run use instead of computing them again; gen counts forward passes, so the
	// per-channel gradient sums are computed once per pass for all three gradients.
	mean, inv []float32
	gen       uint64
	sumsGen   uint64
	sdy, sdyx []float64
	// src is the conv whose output this batch norm normalises, if any: it sums the
	// channels for the batch norm (convOp.stats).
	src *convOp
}

func newBN(name string, c int) *bnOp {
	op := &bnOp{name: name, c: c, eps: 1e-5, momentum: 0.1, training: true, runningMean: make([]float32, c), runningVar: make([]float32, c)}
	for i := range op.runningVar {
		op.runningVar[i] = 1
	}
	return op
}

func (op *bnOp) Arity() int            { return 3 }
func (op *bnOp) Type() hm.Type         { return fnType(3, 4, 1, 1, 4) }
func (op *bnOp) String() string        { return fmt.Sprintf("bn(%s,%d)", op.name, op.c) }
func (op *bnOp) Hashcode() uint32      { return hashOf(op) }
func (op *bnOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *bnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return sameShape(in, 0)
}

// stats returns the per-channel mean and 1/sqrt(var+eps) of x (N x C x plane) to
// normalise with: the batch's in training, the running ones otherwise.
func (op *bnOp) stats(x []float32, n, plane int, update bool) (mean, inv []float32) {
	mean, inv = make([]float32, op.c), make([]float32, op.c)
	if !op.training {
		for c := range mean {
			mean[c] = op.runningMean[c]
			inv[c] = float32(1 / math.Sqrt(float64(op.runningVar[c]+op.eps)))
		}
		return mean, inv
	}
	var sum, sumSq []float64
	if op.src != nil && op.src.fresh && update {
		sum, sumSq = op.src.sum, op.src.sumSq
		op.src.fresh = false
	} else {
		partial := make([][]float64, min(chunks, n))
		forChunks(n, func(k, lo, hi int) {
			partial[k] = channelSums(x[lo*op.c*plane:hi*op.c*plane], hi-lo, op.c, plane)
		})
		sum, sumSq = addSums(partial, op.c)
	}
	count := float64(n * plane)
	for c := range mean {
		m := sum[c] / count
		v := max(sumSq[c]/count-m*m, 0)
		mean[c] = float32(m)
		inv[c] = float32(1 / math.Sqrt(v+float64(op.eps)))
		if update {
			unbiased := v
			if count > 1 {
				unbiased = v * count / (count - 1)
			}
			op.runningMean[c] = (1-op.momentum)*op.runningMean[c] + op.momentum*float32(m)
			op.runningVar[c] = (1-op.momentum)*op.runningVar[c] + op.momentum*float32(unbiased)
		}
	}
	return mean, inv
}

// addSums adds up the pieces' channelSums, in piece order so that the sums are
// reproducible, into each channel's sum and sum of squares.
func addSums(partial [][]float64, c int) (sum, sumSq []float64) {
	sum, sumSq = make([]float64, c), make([]float64, c)
	for _, p := range partial {
		for ch := range sum {
			sum[ch] += p[2*ch]
			sumSq[ch] += p[2*ch+1]
		}
	}
	return sum, sumSq
}

// channelSums returns, for each channel of x (n x c x plane), the sum of its values
// and of their squares, interleaved.
func channelSums(x []float32, n, c, plane int) []float64 {
	s := make([]float64, 2*c)
	for i := 0; i < n; i++ {
		for ch := 0; ch < c; ch++ {
			p := x[(i*c+ch)*plane : (i*c+ch+1)*plane]
			a, b := vec.Sums(p, p)
			s[2*ch] += a
			s[2*ch+1] += b
		}
	}
	return s
}

func (op *bnOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, xs, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	gamma, _, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	beta, _, err := f32(in[2])
	if err != nil {
		return nil, err
	}
	if y, ok := op.stale(len(x)); ok { // the running statistics are left alone too
		return newDense(xs.Clone(), y), nil
	}
	n, plane := xs[0], xs[2]*xs[3]
	mean, inv := op.stats(x, n, plane, true)
	op.mean, op.inv = mean, inv
	op.gen++
	y := op.out(len(x))
	forChunks(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			for c := 0; c < op.c; c++ {
				a, b := gamma[c]*inv[c], beta[c]-gamma[c]*inv[c]*mean[c]
				o := (i*op.c + c) * plane
				vec.Affine(y[o:o+plane], x[o:o+plane], a, b)
			}
		}
	})
	return newDense(xs.Clone(), y), nil
}

func (op *bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (op *bnOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, 3)
	for wrt := range out {
		var err error
		if out[wrt], err = G.ApplyOp(&bnGradOp{bn: op, wrt: wrt, opBase: opBase{skips: op.skips}}, in[0], in[1], grad); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// bnGradOp is batch norm's gradient with respect to x (wrt 0), gamma (1) or beta (2),
// from (x, gamma, dy).
type bnGradOp struct {
	opBase
	bn  *bnOp
	wrt int
}

func (op *bnGradOp) Arity() int { return 3 }
func (op *bnGradOp) Type() hm.Type {
	if op.wrt == 0 {
		return fnType(3, 4, 1, 4, 4)
	}
	return fnType(3, 4, 1, 4, 1)
}
func (op *bnGradOp) String() string        { return fmt.Sprintf("%s.grad(%d)", op.bn, op.wrt) }
func (op *bnGradOp) Hashcode() uint32      { return hashOf(op) }
func (op *bnGradOp) WriteHash(h hash.Hash) { writeHash(op, h) }

func (op *bnGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if op.wrt == 0 {
		return sameShape(in, 0)
	}
	return tensor.Shape{op.bn.c}, nil
}

func (op *bnGradOp) Do(in ...G.Value) (G.Value, error) {
	defer op.release(in)
	x, xs, err := f32(in[0])
	if err != nil {
		return nil, err
	}
	gamma, _, err := f32(in[1])
	if err != nil {
		return nil, err
	}
	dy, _, err := f32(in[2])
	if err != nil {
		return nil, err
	}
	n, plane, C := xs[0], xs[2]*xs[3], op.bn.c
	if op.wrt == 0 {
		if z, ok := op.zeros(len(x)); ok {
			return newDense(xs.Clone(), z), nil
		}
	} else if z, ok := op.zeros(C); ok {
		return newDense(tensor.Shape{C}, z), nil
	}
	mean, inv := op.bn.mean, op.bn.inv
	if mean == nil { // no forward pass ran before this one (not in a normal run)
		mean, inv = op.bn.stats(x, n, plane, false)
	}
	// Per channel: sum(dy) and sum(dy * xhat), once per forward pass.
	if op.bn.sdy == nil || op.bn.sumsGen != op.bn.gen || op.bn.gen == 0 {
		op.bn.sdy, op.bn.sdyx = bnSums(x, dy, mean, inv, n, C, plane)
		op.bn.sumsGen = op.bn.gen
	}
	sdy, sdyx := op.bn.sdy, op.bn.sdyx
	switch op.wrt {
	case 1:
		g := op.out(C)
		for c := range g {
			g[c] = float32(sdyx[c])
		}
		return newDense(tensor.Shape{C}, g), nil
	case 2:
		g := op.out(C)
		for c := range g {
			g[c] = float32(sdy[c])
		}
		return newDense(tensor.Shape{C}, g), nil
	}
	dx := op.out(len(x))
	m := float32(n * plane)
	forChunks(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			for c := 0; c < C; c++ {
				o := (i*C + c) * plane
				if !op.bn.training { // the running statistics are constants
					vec.Affine(dx[o:o+plane], dy[o:o+plane], gamma[c]*inv[c], 0)
					continue
				}
				// k (m dy - a - xhat b), xhat = (x - mean) inv, as one multiply-add
				// of dy and one of x.
				k := gamma[c] * inv[c] / m
				a, b := float32(sdy[c]), float32(sdyx[c])
				vec.Affine2(dx[o:o+plane], x[o:o+plane], dy[o:o+plane], k*m, -k*b*inv[c], k*(b*inv[c]*mean[c]-a))
			}
		}
	})
	return newDense(xs.Clone(), dx), nil
}

// bnSums returns per channel sum(dy) and sum(dy * xhat), in parallel over channels.
func bnSums(x, dy, mean, inv []float32, n, C, plane int) (sdy, sdyx []float64) {
	sdy, sdyx = make([]float64, C), make([]float64, C)
	forChunks(C, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			var a, b float64 // sum(dy), sum(dy * x)
			for i := 0; i < n; i++ {
				o := (i*C + c) * plane
				pa, pb := vec.Sums(dy[o:o+plane], x[o:o+plane])
				a += pa
				b += pb
			}
			// sum(dy * xhat) = inv (sum(dy * x) - mean sum(dy))
			sdy[c], sdyx[c] = a, float64(inv[c])*(b-float64(mean[c])*a)
		}
	})
	return sdy, sdyx
}
