package vec

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"cellar/nn/internal/cpulevel"
)

// both runs f with the assembly and with the Go loops.
func both(t *testing.T, f func()) {
	t.Helper()
	if !fast {
		t.Skipf("no assembly on this path (%s=%q; the CPU runs %s): only the Go loops run", cpulevel.Env, os.Getenv(cpulevel.Env), cpulevel.Detect())
	}
	if want := os.Getenv(cpulevel.Env); want != "" && cpulevel.Note == "" && (want == "avx2") == wide {
		t.Fatalf("%s=%s, but the AVX-512 loops run: %v", cpulevel.Env, want, wide)
	}
	f()
	fast = false
	defer func() { fast = true }()
	f()
}

func random(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestLoops compares every loop's assembly with its Go definition, on lengths with
// and without a tail, with NaNs and zeros in x.
func TestLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 15, 16, 17, 49, 196, 784, 1000} {
		x, d, a := random(rng, n), random(rng, n), random(rng, n)
		x[rng.IntN(n)] = float32(math.NaN())
		x[rng.IntN(n)] = 0
		var got [2][6][]float32
		var sums [2][3]float64
		run := 0
		both(t, func() {
			for k := range got[run] {
				got[run][k] = make([]float32, n)
			}
			Relu(got[run][0], x)
			ReluGrad(got[run][1], x, d)
			Add(got[run][2], a, d)
			Affine(got[run][3], a, 1.5, -0.25)
			Affine2(got[run][4], a, d, 0.5, -2, 0.125)
			sums[run][0], sums[run][1] = Sums(d, a)
			copy(got[run][5], a)
			Axpy(got[run][5], d, -0.75)
			sums[run][2] = float64(Dot(d, a))
			run++
		})
		for k, name := range []string{"Relu", "ReluGrad", "Add", "Affine", "Affine2", "Axpy"} {
			for i := range got[0][k] {
				g, w := got[0][k][i], got[1][k][i]
				same := g == w || (g != g && w != w)
				if !same && math.Abs(float64(g-w)) > 1e-6*(1+math.Abs(float64(w))) { // fused multiply-adds round once
					t.Fatalf("%s n=%d [%d]: assembly %v, Go %v", name, n, i, g, w)
				}
			}
		}
		for k := range sums[0] {
			tol := 1e-9 * float64(n)
			if k == 2 { // Dot sums in float32
				tol = 1e-5 * float64(n)
			}
			if math.Abs(sums[0][k]-sums[1][k]) > tol {
				t.Fatalf("Sums n=%d [%d]: assembly %v, Go %v", n, k, sums[0][k], sums[1][k])
			}
		}
	}
}

// TestCopyRows copies blocks of several widths and checks every float of the
// destination: the block's are copied, the ones between and after runs untouched.
func TestCopyRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ rows, w, ds, ss int }{{28, 28, 30, 28}, {3, 7, 9, 7}, {5, 16, 16, 20}, {4, 33, 40, 35}, {1, 1, 1, 1}, {2, 0, 3, 3}} {
		src := random(rng, c.rows*c.ss+3)
		var got [2][]float32
		run := 0
		both(t, func() {
			got[run] = make([]float32, c.rows*c.ds+5)
			for i := range got[run] {
				got[run][i] = -1
			}
			CopyRows(got[run], src, c.rows, c.w, c.ds, c.ss)
			run++
		})
		for i, v := range got[0] {
			want := float32(-1)
			if r, col := i/c.ds, i%c.ds; r < c.rows && col < c.w {
				want = src[r*c.ss+col]
			}
			if v != want || got[1][i] != want {
				t.Fatalf("%+v: dst[%d] = %v (assembly), %v (Go), want %v", c, i, v, got[1][i], want)
			}
		}
	}
}
