package nn

import "cellar/nn/internal/vec"

// Depthwise convolutions (sep_conv, dil_conv, mbconv) by whole planes. Each channel's
// input is copied into a zero-padded plane Wp floats wide, and every tap (kh, kw) of
// its kernel adds the tap's weight times a shifted window of that plane to the output
// (vec.Axpy, in AVX-512, AVX2 or Go): one long Axpy a tap, over the output computed
// at full resolution with its rows Wp apart. The columns past the output's, and with
// a stride the rows and columns between its samples, are computed and dropped: a
// stride of 2 computes four times the outputs it keeps, still far faster than a
// sum an output. The input gradient walks the same windows the other way, adding the
// weights times the output gradient (spread onto that full-resolution grid, zeros
// between) into a padded plane; the weight gradient dots each window with it
// (vec.Dot).

// byPlanes says whether the plane scheme computes this depthwise convolution: it needs
// padding that is not negative.
func (g convGeom) byPlanes() bool { return g.PadH >= 0 && g.PadW >= 0 }

// plane is the padded plane's row length and size (with the slack a window of the
// last row reads past its end), and the length of the full-resolution output.
func (g convGeom) plane() (wp, size, full int) {
	reach := g.Dil * (g.K - 1)
	fullH, fullW := (g.OutH-1)*g.Stride+1, (g.OutW-1)*g.Stride+1
	hp := max(g.H+2*g.PadH, fullH+reach)
	wp = max(g.W+2*g.PadW, fullW+reach)
	return wp, hp*wp + reach + 1, fullH * wp
}

// pad copies an input plane into the padded plane p (whose padding is zero).
func (g convGeom) pad(p, in []float32, wp int) {
	vec.CopyRows(p[g.PadH*wp+g.PadW:], in, g.H, g.W, wp, g.W)
}

// spread lays one channel's output gradient onto the full-resolution grid, each
// value where its output was computed; everything else is zero.
func (g convGeom) spread(dst, dy []float32, wp int) {
	clear(dst)
	if g.Stride == 1 {
		vec.CopyRows(dst, dy, g.OutH, g.OutW, wp, g.OutW)
		return
	}
	for oh := 0; oh < g.OutH; oh++ {
		row := dst[oh*g.Stride*wp:]
		for ow, v := range dy[oh*g.OutW : (oh+1)*g.OutW] {
			row[ow*g.Stride] = v
		}
	}
}

// tap is where tap (kh, kw)'s window starts in the padded plane.
func (g convGeom) tap(kh, kw, wp int) int { return kh*g.Dil*wp + kw*g.Dil }

func (g convGeom) planeForward(x, w, y []float32) {
	wp, size, full := g.plane()
	hw, kk := g.outHW(), g.K*g.K
	p, o := getBuf(size), getBuf(full)
	defer putBuf(p)
	defer putBuf(o)
	for c := 0; c < g.C; c++ {
		clear(p)
		g.pad(p, x[c*g.H*g.W:(c+1)*g.H*g.W], wp)
		clear(o)
		k := w[c*kk : (c+1)*kk]
		for kh := 0; kh < g.K; kh++ {
			for kw := 0; kw < g.K; kw++ {
				vec.Axpy(o, p[g.tap(kh, kw, wp):], k[kh*g.K+kw])
			}
		}
		yc := y[c*hw : (c+1)*hw]
		if g.Stride == 1 {
			vec.CopyRows(yc, o, g.OutH, g.OutW, g.OutW, wp)
			continue
		}
		for oh := 0; oh < g.OutH; oh++ {
			row := o[oh*g.Stride*wp:]
			for ow := range g.OutW {
				yc[oh*g.OutW+ow] = row[ow*g.Stride]
			}
		}
	}
}

func (g convGeom) planeBackwardX(w, dy, dx []float32) {
	wp, size, full := g.plane()
	hw, kk := g.outHW(), g.K*g.K
	dp, d := getBuf(size), getBuf(full)
	defer putBuf(dp)
	defer putBuf(d)
	for c := 0; c < g.C; c++ {
		clear(dp)
		g.spread(d, dy[c*hw:(c+1)*hw], wp)
		k := w[c*kk : (c+1)*kk]
		for kh := 0; kh < g.K; kh++ {
			for kw := 0; kw < g.K; kw++ {
				at := g.tap(kh, kw, wp)
				vec.Axpy(dp[at:at+full], d, k[kh*g.K+kw])
			}
		}
		// The input's part of the padded gradient; the caller cleared dx.
		vec.CopyRows(dx[c*g.H*g.W:(c+1)*g.H*g.W], dp[g.PadH*wp+g.PadW:], g.H, g.W, g.W, wp)
	}
}

func (g convGeom) planeBackwardW(x, dy, dw []float32) {
	wp, size, full := g.plane()
	hw, kk := g.outHW(), g.K*g.K
	p, d := getBuf(size), getBuf(full)
	defer putBuf(p)
	defer putBuf(d)
	for c := 0; c < g.C; c++ {
		clear(p)
		g.pad(p, x[c*g.H*g.W:(c+1)*g.H*g.W], wp)
		g.spread(d, dy[c*hw:(c+1)*hw], wp)
		k := dw[c*kk : (c+1)*kk]
		for kh := 0; kh < g.K; kh++ {
			for kw := 0; kw < g.K; kw++ {
				k[kh*g.K+kw] += vec.Dot(d, p[g.tap(kh, kw, wp):])
			}
		}
	}
}
