package nn

import (
	"cellar/nn/internal/gemm"
	"cellar/nn/internal/vec"
)

// Convolutions on the AVX-512 kernels (fastConv). A stride-1 convolution is computed
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

// fastConv says whether convolutions run on the AVX-512 kernels of package gemm;
// tests switch it off to compare them with the im2col and BLAS path, which other
// CPUs take.
var fastConv = gemm.Available

// fast says whether the AVX-512 kernels compute this convolution.
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
	off    gemm.Offsets // row (c, kh, kw) of the implicit B matrix
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
	p.off.At = p.off.At[:g.C*kk]
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

// scatter writes the chunk's output gradient dy (s x OutC x OutH x OutW) into buf in
// the product's layout, rows ld floats apart, zeros in the dropped columns and in
// the rows up to a multiple of 4.
func (p padded) scatter(dy []float32, buf []float32, ld int) {
	g := p.g
	clear(buf)
	for o := 0; o < g.OutC; o++ {
		for s := 0; s < p.s; s++ {
			vec.CopyRows(buf[o*ld+s*p.plane():], dy[(s*g.OutC+o)*g.outHW():], g.OutH, g.OutW, p.wp, g.OutW)
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
	ldc := gemm.RoundUp(p.n, gemm.TileCols)
	c := getBuf(gemm.RoundUp(g.OutC, gemm.PanelRows) * ldc)
	defer putBuf(c)
	gemm.Mul(panels, g.OutC, g.colRows(), p.n, buf, p.off, c, ldc)
	p.gather(c, ldc, y[lo*outSz:hi*outSz])
}

// implicitWeightGrad adds the samples [lo, hi)'s weight gradient to acc, which is
// gemm.RoundUp(OutC, 4) x gemm.RoundUp(C*K*K, 4).
func (g convGeom) implicitWeightGrad(x, dy, acc []float32, lo, hi int) {
	p := g.padded(hi - lo)
	inSz, outSz := g.C*g.H*g.W, g.OutC*g.outHW()
	buf := getBuf(p.size())
	defer putBuf(buf)
	p.fill(x[lo*inSz:hi*inSz], buf)
	ld := gemm.RoundUp(p.n, gemm.VecLen)
	d := getBuf(gemm.RoundUp(g.OutC, gemm.DotTile) * ld)
	defer putBuf(d)
	p.scatter(dy[lo*outSz:hi*outSz], d, ld)
	off := p.off
	off.At = off.At[:gemm.RoundUp(len(off.At), gemm.DotTile)]
	gemm.Dot(g.OutC, ld, d, ld, buf, off, acc, gemm.RoundUp(g.colRows(), gemm.DotTile))
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
func (g convGeom) fusedGrads() bool { return g.fast() && g.implicit() }

// implicitGrads computes dx and dw of a stride-1 convolution in one pass over each
// piece of the batch. The piece's output gradient is padded once, in the layout of
// the transposed convolution that gives dx; the same buffer, read from the position
// of the first output pixel, is the output gradient in the forward layout that the
// weight gradient dots with the padded input (both layouts have the same rows and
// row length, so they differ by that shift).
func (g convGeom) implicitGrads(x, w, dy, dx, dw []float32) {
	t := g.transposed()
	if tp, p := t.padded(1), g.padded(1); tp.hp != p.hp || tp.wp != p.wp { // not met, see padded
		g.backwardX(w, dy, dx)
		g.backwardW(x, dy, dw)
		return
	}
	panels := g.flippedPanels(w)
	k, ldc := g.colRows(), gemm.RoundUp(g.colRows(), gemm.DotTile)
	partial := make([][]float32, min(chunks, g.N))
	forChunks(g.N, func(c, lo, hi int) {
		s := hi - lo
		p := g.padded(s)
		inSz, outSz := g.C*g.H*g.W, g.OutC*g.outHW()
		// Read from the shift on, a channel's row of the dot must be zero up to n16:
		// past its samples, and not the next channel's.
		shift, n16 := t.PadH*p.wp+t.PadW, gemm.RoundUp(p.n, gemm.VecLen)
		tp := t.paddedApart(s, shift+n16)
		lda := tp.cs
		d := getBuf(max(tp.size(), gemm.RoundUp(g.OutC, gemm.DotTile)*lda))
		defer putBuf(d)
		tp.fill(dy[lo*outSz:hi*outSz], d)
		ldy := gemm.RoundUp(tp.n, gemm.TileCols)
		cb := getBuf(gemm.RoundUp(g.C, gemm.PanelRows) * ldy)
		defer putBuf(cb)
		gemm.Mul(panels, g.C, t.colRows(), tp.n, d, tp.off, cb, ldy)
		tp.gather(cb, ldy, dx[lo*inSz:hi*inSz])

		xb := getBuf(p.size())
		defer putBuf(xb)
		p.fill(x[lo*inSz:hi*inSz], xb)
		acc := make([]float32, gemm.RoundUp(g.OutC, gemm.DotTile)*ldc)
		partial[c] = acc
		off := p.off
		off.At = off.At[:gemm.RoundUp(len(off.At), gemm.DotTile)]
		gemm.Dot(g.OutC, n16, d[shift:], lda, xb, off, acc, ldc)
	})
	clear(dw)
	for _, p := range partial { // in piece order, so the sums are reproducible
		for o := 0; o < g.OutC; o++ {
			row := dw[o*k : (o+1)*k]
			for r, v := range p[o*ldc : o*ldc+k] {
				row[r] += v
			}
		}
	}
}
