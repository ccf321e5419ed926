package datasets

import "math"

// Resized is the dataset with every image resampled to h x w by bilinear
// interpolation (half-pixel centres, as PyTorch's interpolate without
// align_corners), keeping the labels and the normalisation: compound scaling trains
// a network at a resolution other than the dataset's. The same size returns d.
func (d *Dataset) Resized(h, w int) *Dataset {
	if h == d.H && w == d.W {
		return d
	}
	out := *d
	out.H, out.W = h, w
	out.Pixels = make([]uint8, d.N*d.C*h*w)
	ys, xs := taps(d.H, h), taps(d.W, w)
	src, dst := d.H*d.W, h*w
	for p := 0; p < d.N*d.C; p++ {
		in, o := d.Pixels[p*src:(p+1)*src], out.Pixels[p*dst:(p+1)*dst]
		for i, y := range ys {
			r0, r1 := in[y.lo*d.W:(y.lo+1)*d.W], in[y.hi*d.W:(y.hi+1)*d.W]
			for j, x := range xs {
				top := float64(r0[x.lo])*(1-x.t) + float64(r0[x.hi])*x.t
				bot := float64(r1[x.lo])*(1-x.t) + float64(r1[x.hi])*x.t
				o[i*w+j] = uint8(math.Round(top*(1-y.t) + bot*y.t))
			}
		}
	}
	return &out
}

// tap is where one output coordinate samples its input: between lo and hi, at t.
type tap struct {
	lo, hi int
	t      float64
}

// taps maps each of n output coordinates onto an input of size in.
func taps(in, n int) []tap {
	out := make([]tap, n)
	scale := float64(in) / float64(n)
	for i := range out {
		s := max(0, (float64(i)+0.5)*scale-0.5)
		lo := min(int(s), in-1)
		out[i] = tap{lo: lo, hi: min(lo+1, in-1), t: s - float64(lo)}
	}
	return out
}
