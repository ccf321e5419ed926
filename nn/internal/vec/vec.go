// Package vec holds the element-wise loops of nn's layers (ReLU, addition, batch
// norm), in assembly where the CPU has it (AVX-512, AVX2, NEON) and in Go otherwise;
// the assembly does whole vectors and Go the rest. The Go loops are the definition:
// tests check the assembly against them.
package vec

// head is how many of n floats the assembly does: all of them in whole vectors, or
// none without AVX-512.
func head(n int) int {
	if !fast {
		return 0
	}
	return n &^ 15
}

// Relu sets y = max(x, 0), keeping NaNs.
func Relu(y, x []float32) {
	x = x[:len(y)]
	h := head(len(y))
	if h > 0 {
		relu(&y[0], &x[0], h)
	}
	for i := h; i < len(y); i++ {
		y[i] = max(x[i], 0)
	}
}

// ReluGrad sets dx = dy where x > 0 (or is NaN), else 0: ReLU's input gradient.
func ReluGrad(dx, x, dy []float32) {
	x, dy = x[:len(dx)], dy[:len(dx)]
	h := head(len(dx))
	if h > 0 {
		reluGrad(&dx[0], &x[0], &dy[0], h)
	}
	for i := h; i < len(dx); i++ {
		d := dy[i]
		if x[i] <= 0 {
			d = 0
		}
		dx[i] = d
	}
}

// Add sets y = a + b.
func Add(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	h := head(len(y))
	if h > 0 {
		add(&y[0], &a[0], &b[0], h)
	}
	for i := h; i < len(y); i++ {
		y[i] = a[i] + b[i]
	}
}

// Affine sets y = a*x + b.
func Affine(y, x []float32, a, b float32) {
	x = x[:len(y)]
	h := head(len(y))
	if h > 0 {
		affine(&y[0], &x[0], h, a, b)
	}
	for i := h; i < len(y); i++ {
		y[i] = a*x[i] + b
	}
}

// Affine2 sets y = a*d + b*x + c.
func Affine2(y, x, d []float32, a, b, c float32) {
	x, d = x[:len(y)], d[:len(y)]
	h := head(len(y))
	if h > 0 {
		affine2(&y[0], &x[0], &d[0], h, a, b, c)
	}
	for i := h; i < len(y); i++ {
		y[i] = a*d[i] + (b*x[i] + c)
	}
}

// Sums returns the sum of a and the dot product of a and b, in float64.
func Sums(a, b []float32) (sa, sab float64) {
	b = b[:len(a)]
	h := head(len(a))
	if h > 0 {
		sa, sab = sums(&a[0], &b[0], h)
	}
	for i := h; i < len(a); i++ {
		sa += float64(a[i])
		sab += float64(a[i]) * float64(b[i])
	}
	return sa, sab
}

// Axpy adds a*x to y.
func Axpy(y, x []float32, a float32) {
	x = x[:len(y)]
	h := head(len(y))
	if h > 0 {
		axpy(&y[0], &x[0], h, a)
	}
	for i := h; i < len(y); i++ {
		y[i] += a * x[i]
	}
}

// Dot is the dot product of x and y, summed in float32 (the assembly in vector lanes,
// so the rounding differs from the Go loop's in the last bits).
func Dot(x, y []float32) float32 {
	y = y[:len(x)]
	h := head(len(x))
	var s float32
	if h > 0 {
		s = dot(&x[0], &y[0], h)
	}
	for i := h; i < len(x); i++ {
		s += x[i] * y[i]
	}
	return s
}

// CopyRows copies rows runs of w floats from src to dst, the runs dstStride and
// srcStride floats apart: a block of a matrix into another. It is one call however
// short the runs, where copy would be one call a run.
func CopyRows(dst, src []float32, rows, w, dstStride, srcStride int) {
	if rows <= 0 || w <= 0 {
		return
	}
	// Bounds are checked here, once, for the assembly.
	_, _ = dst[(rows-1)*dstStride+w-1], src[(rows-1)*srcStride+w-1]
	if fast && wide { // AVX-512's masked tail; AVX2 has none, and copy does as well
		copyRows512(&dst[0], &src[0], rows, w, dstStride, srcStride)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:][:w], src[r*srcStride:][:w])
	}
}
