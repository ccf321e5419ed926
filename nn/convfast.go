package nn

import (
	"cellar/nn/internal/cpulevel"
	"cellar/nn/internal/gemm"
	"cellar/nn/internal/vec"
)

// Convolutions on the kernels of package gemm, AVX-512 or AVX2 (fastConv). A stride-1 convolution is computed
// without im2col: the input is copied once into a zero-padded layout, channel-major
// with a chunk's samples one under the other ([c][s][Hp][Wp]), and every (channel,
// kernel row, kernel column) of the weights multiplies a window of it that starts at
// a fixed offset. Output pixel (s, oh, ow) sits at column s*Hp*Wp + oh*Wp + ow; the
// columns past OutW in each row, and the rows between samples, are computed too and
// dropped. Its input gradient is the same convolution of the padded output gradient
// with the weights flipped and transposed; its weight gradient dots the padded output
// gradient with the same windows. Other strides use im2col with the same kernels.

// implicit says whether the stride-1 scheme above computes this convolution and its
// input gradient: one group, and padding no wider than the dilated kernel.
func (g convGeom) implicit() bool {
	reach := g.Dil * (g.K - 1)
	return g.Stride == 1 && g.Groups == 1 && g.PadH >= 0 && g.PadW >= 0 && g.PadH <= reach && g.PadW <= reach
}

// fastConv says whether convolutions run on the kernels of package gemm (AVX-512, or
// AVX2 with FMA); tests switch it off to compare them with the im2col and BLAS path,
// which other CPUs take (and CELLAR_CPU=generic, see cpulevel).
var fastConv = gemm.Available

// Backend names how convolutions run in this build on this CPU, for reports and for
// telling latency tables apart (their timings differ).
func Backend() string {
	switch {
	case fastConv && cpulevel.Current == cpulevel.AVX512:
		return "AVX-512 kernels (Go assembly)"
	case fastConv && cpulevel.Current == cpulevel.NEON:
		return "NEON kernels (Go assembly)"
	case fastConv:
		return "AVX2+FMA kernels (Go assembly)"
	}
	return "im2col with " + BLAS
}

// fast says whether the kernels compute this convolution.
func (g convGeom) fast() bool { return fastConv && g.Groups == 1 }

// transposed is the convolution that computes a stride-1 convolution's input gradient
// from its output gradient (with flippedT weights).
func (g convGeom) transposed() convGeom {
	reach := g.Dil * (g.K - 1)
	return convGeom{N: g.N, C: g.OutC, H: g.OutH, W: g.OutW, K: g.K, OutC: g.C, Stride: 1, Dil: g.Dil,
		PadH: reach - g.PadH, PadW: reach - g.PadW, Groups: 1, OutH: g.H, OutW: g.W}
}

// padded is the layout of a chunk of s samples of a stride-1 convolution's input.
type padded struct {
	g      convGeom
	s      int
	hp, wp int
	cs     int          // floats from one channel's samples to the next channel's
	off    gemm.Offsets // row (c, kh, kw) of the implicit B matrix, to a multiple of 4 rows
	n      int          // columns of the implicit product
}

func (g convGeom) padded(s int) padded { return g.paddedApart(s, 0) }

// paddedApart is padded with channels at least cs floats apart, zeros between.
func (g convGeom) paddedApart(s, cs int) padded {
	reach := g.Dil * (g.K - 1)
	// Neighbouring rows and samples share their zero borders: a window running off
	// a row's right end reads the next row's left border, one running off a sample's
	// bottom reads the next sample's top border. That computes fewer dropped columns
	// than giving each row and sample borders of its own (7x7 planes: 64 columns a
	// sample instead of 81).
	p := padded{g: g, s: s, hp: max(g.OutH+reach-g.PadH, g.PadH+g.H), wp: max(g.OutW+reach-g.PadW, g.PadW+g.W)}
	plane := p.hp * p.wp
	p.cs = max(cs, s*plane)
	kk := g.K * g.K
	p.off = gemm.NewOffsets(gemm.RoundUp(g.C*kk, gemm.DotTile), func(r int) int {
		if r >= g.C*kk {
			return 0 // padding rows of the weight gradient, dropped
		}
		c, kh, kw := r/kk, r%kk/g.K, r%g.K
		return c*p.cs + kh*g.Dil*p.wp + kw*g.Dil
	})
	p.n = (s-1)*plane + g.OutH*p.wp
	return p
}

func (p padded) plane() int { return p.hp * p.wp }

// size is how many floats the padded input takes, with room for the kernels to read
// the columns they compute past n.
func (p padded) size() int {
	return max(p.g.C*p.cs, p.off.Max+gemm.RoundUp(p.n, gemm.TileCols))
}

// fill writes the chunk's samples x (s x C x H x W) into buf, zeros around them.
func (p padded) fill(x, buf []float32) {
	g := p.g
	clear(buf)
	for c := 0; c < g.C; c++ {
		for s := 0; s < p.s; s++ {
			dst := buf[c*p.cs+s*p.plane()+g.PadH*p.wp+g.PadW:]
			vec.CopyRows(dst, x[(s*g.C+c)*g.H*g.W:], min(g.H, p.hp-g.PadH), min(g.W, p.wp-g.PadW), p.wp, g.W)
		}
	}
}

// gather copies the chunk's output (s x OutC x OutH x OutW) out of the product c,
// whose rows are ldc floats apart.
func (p padded) gather(c []float32, ldc int, y []float32) {
	g := p.g
	for o := 0; o < g.OutC; o++ {
		for s := 0; s < p.s; s++ {
			vec.CopyRows(y[(s*g.OutC+o)*g.outHW():], c[o*ldc+s*p.plane():], g.OutH, g.OutW, g.OutW, p.wp)
		}
	}
}

// weightPanels packs the weights (OutC x C*K*K) for kern8x48.
func (g convGeom) weightPanels(w []float32) []float32 {
	return gemm.Pack(w, g.OutC, g.colRows())
}

// flippedPanels packs the weights of the transposed convolution: element (c, (o, kh,
// kw)) is w[o][c][K-1-kh][K-1-kw].
func (g convGeom) flippedPanels(w []float32) []float32 {
	kk := g.K * g.K
	f := make([]float32, len(w))
	for o := 0; o < g.OutC; o++ {
		for c := 0; c < g.C; c++ {
			src, dst := w[(o*g.C+c)*kk:][:kk], f[(c*g.OutC+o)*kk:][:kk]
			for i, v := range src {
				dst[kk-1-i] = v
			}
		}
	}
	return gemm.Pack(f, g.C, g.OutC*kk)
}

// transposedPanels packs w^T (C*K*K x OutC), for im2col's input gradient.
func (g convGeom) transposedPanels(w []float32) []float32 {
	k := g.colRows()
	t := make([]float32, len(w))
	for o := 0; o < g.OutC; o++ {
		for r, v := range w[o*k : (o+1)*k] {
			t[r*g.OutC+o] = v
		}
	}
	return gemm.Pack(t, k, g.OutC)
}

// implicitForward computes y for the samples [lo, hi) of x with panels packed for
// the weights (OutC x C*K*K).
func (g convGeom) implicitForward(x, panels, y []float32, lo, hi int) {
	p := g.padded(hi - lo)
	inSz, outSz := g.C*g.H*g.W, g.OutC*g.outHW()
	buf := getBuf(p.size())
	defer putBuf(buf)
	p.fill(x[lo*inSz:hi*inSz], buf)
	p.product(panels, buf, y[lo*outSz:hi*outSz])
}

// product multiplies the packed weights with the padded input buf and writes the
// piece's output y.
func (p padded) product(panels, buf, y []float32) {
	g := p.g
	ldc := gemm.RoundUp(p.n, gemm.TileCols)
	c := getBuf(gemm.RoundUp(g.OutC, gemm.PanelRows) * ldc)
	defer putBuf(c)
	gemm.Mul(panels, g.OutC, g.colRows(), p.n, buf, p.off, c, ldc)
	p.gather(c, ldc, y)
}

// paddedGrad is a piece's output gradient, padded once for both gradients: in the
// layout of the transposed convolution that gives dx, and, read from shift on with
// rows lda floats apart, in the forward layout that the weight gradient dots with
// the padded input (the two layouts have the same rows and row length, so they
// differ by that shift). Its rows are zero up to n16 past the shift, as the dot needs.
type paddedGrad struct {
	t        padded // the transposed convolution's input layout
	buf      []float32
	shift    int
	lda, n16 int
}

// padGrad pads dy for the samples [lo, hi); give back buf with putBuf.
func (g convGeom) padGrad(dy []float32, lo, hi int) paddedGrad {
	p, outSz := g.padded(hi-lo), g.OutC*g.outHW()
	t := g.transposed()
	d := paddedGrad{shift: t.PadH*p.wp + t.PadW, n16: gemm.RoundUp(p.n, gemm.VecLen)}
	d.t = t.paddedApart(hi-lo, d.shift+d.n16)
	d.lda = d.t.cs
	d.buf = getBuf(max(d.t.size(), gemm.RoundUp(g.OutC, gemm.DotTile)*d.lda))
	d.t.fill(dy[lo*outSz:hi*outSz], d.buf)
	return d
}

// sameRows says whether the forward and transposed layouts have the same rows and
// row length, which paddedGrad relies on; padded makes them so.
func (g convGeom) sameRows() bool {
	t, p := g.transposed().padded(1), g.padded(1)
	return t.hp == p.hp && t.wp == p.wp
}

// implicitWeightGrad adds the samples [lo, hi)'s weight gradient to acc, which is
// RoundUp(OutC, 4) x RoundUp(C*K*K, 4).
func (g convGeom) implicitWeightGrad(x, dy, acc []float32, lo, hi int) {
	d := g.padGrad(dy, lo, hi)
	defer putBuf(d.buf)
	g.weightGradFrom(d, x, acc, lo, hi)
}

// weightGradFrom adds the weight gradient of the samples [lo, hi) to acc, from
// their padded output gradient d.
func (g convGeom) weightGradFrom(d paddedGrad, x, acc []float32, lo, hi int) {
	p, inSz := g.padded(hi-lo), g.C*g.H*g.W
	buf := getBuf(p.size())
	defer putBuf(buf)
	p.fill(x[lo*inSz:hi*inSz], buf)
	gemm.Dot(g.OutC, d.n16, d.buf[d.shift:], d.lda, buf, p.off, acc, gemm.RoundUp(g.colRows(), gemm.DotTile))
}

// addPartials sets dw (OutC x C*K*K) to the sum of the pieces' weight gradients,
// each RoundUp(OutC, 4) x RoundUp(C*K*K, 4), in piece order so that the sums are
// reproducible.
func (g convGeom) addPartials(dw []float32, partial [][]float32) {
	k, ldc := g.colRows(), gemm.RoundUp(g.colRows(), gemm.DotTile)
	clear(dw)
	for _, p := range partial {
		for o := 0; o < g.OutC; o++ {
			row := dw[o*k : (o+1)*k]
			for r, v := range p[o*ldc : o*ldc+k] {
				row[r] += v
			}
		}
	}
}

// im2colForward computes y for the samples [lo, hi) through im2col, for any stride.
func (g convGeom) im2colForward(x, panels, y []float32, lo, hi int) {
	inSz, outSz, hw := g.C*g.H*g.W, g.OutC*g.outHW(), g.outHW()
	ld := gemm.RoundUp(hw, gemm.TileCols)
	cols := getBuf(g.colRows() * ld)
	defer putBuf(cols)
	c := getBuf(gemm.RoundUp(g.OutC, gemm.PanelRows) * ld)
	defer putBuf(c)
	off := gemm.NewOffsets(g.colRows(), func(r int) int { return r * ld })
	for n := lo; n < hi; n++ {
		g.im2col(x[n*inSz:(n+1)*inSz], 0, cols, ld)
		gemm.Mul(panels, g.OutC, g.colRows(), hw, cols, off, c, ld)
		for o := 0; o < g.OutC; o++ {
			copy(y[n*outSz+o*hw:][:hw], c[o*ld:][:hw])
		}
	}
}

// im2colInputGrad computes dx for the samples [lo, hi) with panels packed for w^T.
func (g convGeom) im2colInputGrad(panels, dy, dx []float32, lo, hi int) {
	inSz, outSz, hw := g.C*g.H*g.W, g.OutC*g.outHW(), g.outHW()
	ld := gemm.RoundUp(hw, gemm.TileCols)
	d := getBuf(g.OutC * ld)
	defer putBuf(d)
	cols := getBuf(gemm.RoundUp(g.colRows(), gemm.PanelRows) * ld)
	defer putBuf(cols)
	off := gemm.NewOffsets(g.OutC, func(o int) int { return o * ld })
	for n := lo; n < hi; n++ {
		for o := 0; o < g.OutC; o++ {
			copy(d[o*ld:][:hw], dy[n*outSz+o*hw:][:hw])
		}
		gemm.Mul(panels, g.colRows(), g.OutC, hw, d, off, cols, ld)
		g.col2im(cols, 0, dx[n*inSz:(n+1)*inSz], ld)
	}
}

// im2colWeightGrad adds the samples [lo, hi)'s weight gradient to acc (as
// implicitWeightGrad's).
func (g convGeom) im2colWeightGrad(x, dy, acc []float32, lo, hi int) {
	inSz, outSz, hw := g.C*g.H*g.W, g.OutC*g.outHW(), g.outHW()
	ld := gemm.RoundUp(hw, gemm.TileCols)
	rows := gemm.RoundUp(g.colRows(), gemm.DotTile)
	cols := getBuf(rows * ld)
	defer putBuf(cols)
	clear(cols[g.colRows()*ld:])
	d := getBuf(gemm.RoundUp(g.OutC, gemm.DotTile) * ld)
	defer putBuf(d)
	clear(d)
	off := gemm.NewOffsets(rows, func(r int) int { return r * ld })
	n16 := gemm.RoundUp(hw, gemm.VecLen)
	for n := lo; n < hi; n++ {
		g.im2col(x[n*inSz:(n+1)*inSz], 0, cols, ld)
		for o := 0; o < g.OutC; o++ {
			copy(d[o*ld:][:hw], dy[n*outSz+o*hw:][:hw])
		}
		gemm.Dot(g.OutC, n16, d, ld, cols, off, acc, rows)
	}
}

// fusedGrads says whether implicitGrads computes both gradients: a stride-1
// convolution on the AVX-512 path.
func (g convGeom) fusedGrads() bool { return g.fast() && g.implicit() && g.sameRows() }

// implicitGrads computes dx and dw of a stride-1 convolution in one pass over each
// piece of the batch, padding its output gradient once for both (paddedGrad).
func (g convGeom) implicitGrads(x, w, dy, dx, dw []float32) {
	panels := g.flippedPanels(w)
	partial := make([][]float32, min(chunks, g.N))
	forChunks(g.N, func(c, lo, hi int) {
		d := g.padGrad(dy, lo, hi)
		defer putBuf(d.buf)
		d.t.product(panels, d.buf, dx[lo*g.C*g.H*g.W:hi*g.C*g.H*g.W])
		partial[c] = make([]float32, gemm.RoundUp(g.OutC, gemm.DotTile)*gemm.RoundUp(g.colRows(), gemm.DotTile))
		g.weightGradFrom(d, x, partial[c], lo, hi)
	})
	g.addPartials(dw, partial)
}
