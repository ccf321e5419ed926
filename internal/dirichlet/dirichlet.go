// Package dirichlet draws Dirichlet samples that can be differentiated with respect to
// their concentrations, and the KL divergence DrNAS regularises them with. DrNAS (Chen
// et al. 2021) mixes a supernet's ops by such samples and learns the concentrations
// by gradient descent through them.
//
// A sample is drawn by inverting the Gamma CDF at a uniform number, so its gradient is
// the implicit reparameterization one (Figurnov et al. 2018, "Implicit
// Reparameterization Gradients"): for g = F⁻¹(u; a), dg/da = -(∂F/∂a)(g; a) / f(g; a).
package dirichlet

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// tiny keeps a uniform number off 0 and 1, where the inverse CDF is 0 or infinite.
const tiny = 1e-12

// Gamma is the Gamma(a, 1) number at quantile u, and its derivative with respect to
// the shape a at fixed u.
func Gamma(a, u float64) (g, dgda float64) {
	u = math.Min(math.Max(u, tiny), 1-tiny)
	g = mathext.GammaIncRegInv(a, u)
	if g <= 0 || math.IsInf(g, 0) || math.IsNaN(g) {
		return math.Max(g, 0), 0 // underflow: a vanishing sample, whose derivative vanishes too
	}
	// ∂F/∂a by a central difference: F is smooth in a, and gonum has no closed form.
	h := 1e-5 * math.Max(a, 1e-3)
	dFda := (mathext.GammaIncReg(a+h, g) - mathext.GammaIncReg(a-h, g)) / (2 * h)
	lg, _ := math.Lgamma(a)
	logDensity := (a-1)*math.Log(g) - g - lg
	return g, -dFda / math.Exp(logDensity)
}

// Sample is a Dirichlet(beta) sample theta drawn at the uniform numbers u (one per
// component), with what its gradient needs: chain turns dL/dtheta into dL/dbeta.
type Sample struct {
	Theta []float64
	sum   float64
	dg    []float64 // dg_j/dbeta_j of the Gamma numbers theta was normalised from
}

// Draw draws theta_j = g_j / sum(g), g_j ~ Gamma(beta_j, 1) at quantile u_j.
func Draw(beta, u []float64) Sample {
	s := Sample{Theta: make([]float64, len(beta)), dg: make([]float64, len(beta))}
	for j, b := range beta {
		s.Theta[j], s.dg[j] = Gamma(b, u[j])
		s.sum += s.Theta[j]
	}
	if s.sum == 0 { // every number underflowed: fall back to the mean, with no gradient
		var b0 float64
		for _, b := range beta {
			b0 += b
		}
		for j, b := range beta {
			s.Theta[j], s.dg[j] = b/b0, 0
		}
		return s
	}
	for j := range s.Theta {
		s.Theta[j] /= s.sum
	}
	return s
}

// Chain is dL/dbeta given dL/dtheta: with theta_i = g_i/S,
// dtheta_i/dbeta_j = (δ_ij - theta_i) g'_j / S, so dL/dbeta_j = (d_j - <d, theta>) g'_j / S.
func (s Sample) Chain(dTheta []float64) []float64 {
	var dot float64
	for i, d := range dTheta {
		dot += d * s.Theta[i]
	}
	out := make([]float64, len(dTheta))
	if s.sum == 0 {
		return out
	}
	for j, d := range dTheta {
		out[j] = (d - dot) * s.dg[j] / s.sum
	}
	return out
}

// KLUniform is KL(Dir(beta) || Dir(1, ..., 1)), DrNAS' regulariser, and its gradient:
// KL = lnΓ(b0) - Σ lnΓ(b_j) - lnΓ(K) + Σ (b_j - 1)(ψ(b_j) - ψ(b0)), b0 = Σ b_j, so
// dKL/db_j = (b_j - 1) ψ'(b_j) - (b0 - K) ψ'(b0).
func KLUniform(beta []float64) (kl float64, grad []float64) {
	k := float64(len(beta))
	var b0 float64
	for _, b := range beta {
		b0 += b
	}
	lg := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	kl = lg(b0) - lg(k)
	psi0 := mathext.Digamma(b0)
	grad = make([]float64, len(beta))
	t0 := (b0 - k) * Trigamma(b0)
	for j, b := range beta {
		kl += -lg(b) + (b-1)*(mathext.Digamma(b)-psi0)
		grad[j] = (b-1)*Trigamma(b) - t0
	}
	return kl, grad
}

// Trigamma is ψ'(x) for x > 0: the recurrence ψ'(x) = ψ'(x+1) + 1/x² up to x ≥ 10, then
// the asymptotic series (its next term is below 1e-12 there).
func Trigamma(x float64) float64 {
	var acc float64
	for ; x < 10; x++ {
		acc += 1 / (x * x)
	}
	z := 1 / (x * x)
	// 1/x + 1/(2x²) + 1/(6x³) - 1/(30x⁵) + 1/(42x⁷) - 1/(30x⁹)
	series := 1/x + z/2 + z/x*(1.0/6+z*(-1.0/30+z*(1.0/42-z/30)))
	return acc + series
}
