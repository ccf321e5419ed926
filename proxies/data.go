package proxies

import (
	"cellar/datasets"
	"fmt"
	"math/rand/v2"
)

// DatasetBatch draws n examples (seeded) from a dataset's training set and fits them
// to the network's input shape (C x H x W): each image is centred, padded with the
// dataset's background (the value of a zero pixel once normalised) or cropped, and
// its channels are repeated or averaged. Built-in MNIST padded to 32x32x3 is how the
// proxies score NB201 networks made for CIFAR-10 without CIFAR-10.
func DatasetBatch(d *datasets.Dataset, n int, shape [3]int, seed uint64) (Batch, error) {
	if n < 1 || n > d.N {
		return Batch{}, fmt.Errorf("proxies: batch of %d from %d examples", n, d.N)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0xba7c))
	idx := rng.Perm(d.N)[:n]
	src := make([]float32, n*d.C*d.H*d.W)
	labels := make([]float32, n*d.Classes)
	d.Fill(idx, src, labels)
	c, h, w := shape[0], shape[1], shape[2]
	b := Batch{X: make([]float32, n*c*h*w), N: n}
	// Labels keep the dataset's classes; a network with more classes gets zero columns.
	b.Y = labels
	background := make([]float32, d.C)
	for ch := range background {
		background[ch] = -d.Mean[ch] / d.Std[ch]
	}
	top, left := (h-d.H)/2, (w-d.W)/2
	for s := 0; s < n; s++ {
		img := src[s*d.C*d.H*d.W : (s+1)*d.C*d.H*d.W]
		for oc := 0; oc < c; oc++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					iy, ix := y-top, x-left
					var v float32
					for ic := 0; ic < d.C; ic++ { // average the source channels this one takes
						if d.C == c && ic != oc {
							continue
						}
						if iy < 0 || iy >= d.H || ix < 0 || ix >= d.W {
							v += background[ic]
						} else {
							v += img[(ic*d.H+iy)*d.W+ix]
						}
					}
					if d.C != c {
						v /= float32(d.C)
					}
					b.X[((s*c+oc)*h+y)*w+x] = v
				}
			}
		}
	}
	return b, nil
}

// NoiseBatch is n standard-normal inputs of the given shape with random labels.
func NoiseBatch(n int, shape [3]int, classes int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, seed^0x401e))
	b := Batch{X: make([]float32, n*shape[0]*shape[1]*shape[2]), Y: make([]float32, n*classes), N: n}
	for i := range b.X {
		b.X[i] = float32(rng.NormFloat64())
	}
	for s := 0; s < n; s++ {
		b.Y[s*classes+rng.IntN(classes)] = 1
	}
	return b
}

// WithClasses returns b's labels widened (or cut) to classes columns.
func (b Batch) WithClasses(classes int) Batch {
	if b.N == 0 || len(b.Y) == b.N*classes {
		return b
	}
	have := len(b.Y) / b.N
	y := make([]float32, b.N*classes)
	for s := 0; s < b.N; s++ {
		copy(y[s*classes:s*classes+min(have, classes)], b.Y[s*have:s*have+min(have, classes)])
	}
	b.Y = y
	return b
}
