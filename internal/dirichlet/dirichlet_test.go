package dirichlet

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestTrigamma(t *testing.T) {
	if got := Trigamma(1); !close(got, math.Pi*math.Pi/6, 1e-12) {
		t.Errorf("ψ'(1) = %v, want π²/6", got)
	}
	for _, x := range []float64{0.05, 0.5, 1.7, 5.9, 6, 30, 400} {
		h := 1e-5 * x
		want := (mathext.Digamma(x+h) - mathext.Digamma(x-h)) / (2 * h)
		if got := Trigamma(x); !close(got, want, 1e-6) {
			t.Errorf("ψ'(%v) = %v, the difference of ψ gives %v", x, got, want)
		}
	}
}

// The implicit gradient is the derivative of the inverse CDF at a fixed quantile.
func TestGammaGradient(t *testing.T) {
	for _, a := range []float64{0.2, 0.7, 1, 2.5, 10} {
		for _, u := range []float64{0.03, 0.5, 0.97} {
			g, dg := Gamma(a, u)
			if !close(g, mathext.GammaIncRegInv(a, u), 1e-12) {
				t.Fatalf("Gamma(%v, %v) = %v, not the inverse CDF", a, u, g)
			}
			h := 1e-4 * a
			want := (mathext.GammaIncRegInv(a+h, u) - mathext.GammaIncRegInv(a-h, u)) / (2 * h)
			if !close(dg, want, 1e-4) {
				t.Errorf("dg/da at a=%v u=%v: %v, the difference of the inverse CDF gives %v", a, u, dg, want)
			}
		}
	}
}

func TestDrawMeanAndSum(t *testing.T) {
	beta := []float64{0.5, 1, 2, 4.5}
	rng := rand.New(rand.NewPCG(1, 2))
	mean := make([]float64, len(beta))
	const n = 20000
	for range n {
		u := make([]float64, len(beta))
		for j := range u {
			u[j] = rng.Float64()
		}
		s := Draw(beta, u)
		var sum float64
		for j, v := range s.Theta {
			if v < 0 {
				t.Fatalf("negative component %v", v)
			}
			sum += v
			mean[j] += v / n
		}
		if !close(sum, 1, 1e-12) {
			t.Fatalf("a sample sums to %v", sum)
		}
	}
	for j, b := range beta {
		if want := b / 8; math.Abs(mean[j]-want) > 0.01 {
			t.Errorf("component %d: mean %v over %d draws, Dirichlet's mean %v", j, mean[j], n, want)
		}
	}
}

// Chain is the derivative of a loss of theta through the draw, at fixed uniforms.
func TestChain(t *testing.T) {
	beta := []float64{0.4, 1.3, 2, 0.9, 3.1}
	u := []float64{0.2, 0.9, 0.5, 0.05, 0.7}
	c := []float64{1.5, -2, 0.3, 4, -0.7} // L = <c, theta>
	loss := func(b []float64) float64 {
		var l float64
		for i, v := range Draw(b, u).Theta {
			l += c[i] * v
		}
		return l
	}
	got := Draw(beta, u).Chain(c)
	for j := range beta {
		h := 1e-4 * beta[j]
		up, down := append([]float64{}, beta...), append([]float64{}, beta...)
		up[j] += h
		down[j] -= h
		if want := (loss(up) - loss(down)) / (2 * h); !close(got[j], want, 1e-4) {
			t.Errorf("dL/dbeta_%d = %v, the difference gives %v", j, got[j], want)
		}
	}
}

func TestDrawUnderflow(t *testing.T) {
	s := Draw([]float64{1e-3, 1e-3}, []float64{1e-9, 1e-9})
	if s.Theta[0]+s.Theta[1] != 1 || math.IsNaN(s.Theta[0]) {
		t.Errorf("underflowed draw: %v", s.Theta)
	}
	for _, g := range s.Chain([]float64{1, 2}) {
		if math.IsNaN(g) || math.IsInf(g, 0) {
			t.Errorf("gradient of an underflowed draw: %v", g)
		}
	}
}

func TestKLUniform(t *testing.T) {
	if kl, grad := KLUniform([]float64{1, 1, 1, 1, 1}); math.Abs(kl) > 1e-12 || math.Abs(grad[0]) > 1e-12 {
		t.Errorf("KL of the uniform Dirichlet to itself: %v, gradient %v", kl, grad)
	}
	// Away from 7, where gonum's Digamma switches to its series and jumps by ~1e-10.
	beta := []float64{0.3, 1.2, 2.5, 8.5}
	kl, grad := KLUniform(beta)
	if kl <= 0 {
		t.Errorf("KL %v, want > 0", kl)
	}
	for j := range beta {
		h := 1e-6 * beta[j]
		up, down := append([]float64{}, beta...), append([]float64{}, beta...)
		up[j] += h
		down[j] -= h
		a, _ := KLUniform(up)
		b, _ := KLUniform(down)
		if want := (a - b) / (2 * h); !close(grad[j], want, 1e-5) {
			t.Errorf("dKL/dbeta_%d = %v, the difference gives %v", j, grad[j], want)
		}
	}
	// K = 2 against the Beta form: KL(Beta(a,b) || Beta(1,1)) = -H(Beta(a,b)).
	a, b := 2.0, 3.0
	lb := mathext.Lbeta(a, b)
	negEntropy := -lb + (a-1)*mathext.Digamma(a) + (b-1)*mathext.Digamma(b) - (a+b-2)*mathext.Digamma(a+b)
	if kl, _ := KLUniform([]float64{a, b}); !close(kl, negEntropy, 1e-12) {
		t.Errorf("KL(Beta(2,3) || uniform) = %v, want %v", kl, negEntropy)
	}
}
