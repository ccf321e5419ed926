// Package proxies scores untrained networks without training them (zero-cost
// proxies): from one minibatch, or none, each score ranks architectures by a
// quantity that correlates with their trained accuracy.
//
// Every score is computed on a network initialised from the seed exactly as nn
// trains it, so a score is a function of (architecture, batch, seed). Scores are
// finite: where a quantity is zero or singular (no signal reaches the output, a
// network without weights), the score is the lowest finite value, NoSignal.
package proxies

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"cellar/internal/registry"
	"cellar/nn"
	"cellar/spaces"
)

// NoSignal is the score of a network whose quantity is zero or undefined: lower
// than any other, and finite, so that it can be stored and ranked.
const NoSignal = -math.MaxFloat64

// Proxy is one zero-cost score.
type Proxy struct {
	// NeedsData says whether it reads the batch; a data-free proxy scores the
	// network alone (and a warm start or a cache can use it without data).
	NeedsData bool
	// Score computes it for one network.
	Score func(s *Scoring) (float64, error)
}

// Scoring is one network being scored, initialised from Seed as nn trains it. Its
// proxies may share work through Shared.
type Scoring struct {
	Net   *spaces.Net
	Batch Batch // empty when no proxy asked for needs data
	Seed  uint64
	names []string
	memo  map[string]any
}

// Wants says whether name is among the scores asked for: a pass that can give an
// extra score at a cost (fisher beside grad_norm and snip) gives it only then.
func (s *Scoring) Wants(name string) bool { return slices.Contains(s.names, name) }

// Shared computes f once for this scoring under key, for proxies that share a pass
// (grad_norm, snip and fisher): the first to ask computes it, the others read it.
func Shared[T any](s *Scoring, key string, f func() (T, error)) (T, error) {
	if v, ok := s.memo[key]; ok {
		r := v.(shared[T])
		return r.v, r.err
	}
	v, err := f()
	s.memo[key] = shared[T]{v, err}
	return v, err
}

type shared[T any] struct {
	v   T
	err error
}

// registered are the proxies, in the order they are reported. The built-ins register
// below in the order of their papers' tables; a program adds its own (one file with
// Register in its init) after them.
var registered = registry.New[Proxy]("proxy")

// Register adds a proxy under name with a one-line doc. A name registered twice
// panics.
func Register(name, doc string, p Proxy) { registered.Register(name, doc, nil, p) }

// Unregister removes a proxy, for a test that registered its own.
func Unregister(name string) { registered.Unregister(name) }

// Names are the proxies, in the order they are reported.
func Names() []string {
	var out []string
	for _, e := range registered.Entries() {
		out = append(out, e.Name)
	}
	return out
}

// Registered lists the proxies, in the order they are reported.
func Registered() []registry.Entry[Proxy] { return registered.Entries() }

// NeedsData says whether the proxy name reads the batch (an unknown name does not).
func NeedsData(name string) bool {
	e, err := registered.Lookup(name)
	return err == nil && e.New.NeedsData
}

func init() {
	gradients := func(s *Scoring) ([3]float64, error) {
		return Shared(s, "gradients", func() ([3]float64, error) {
			gn, sn, fi, err := gradientScores(s.Net, s.Batch, s.Seed, s.Wants("fisher"))
			return [3]float64{gn, sn, fi}, err
		})
	}
	gradient := func(i int) func(s *Scoring) (float64, error) {
		return func(s *Scoring) (float64, error) {
			g, err := gradients(s)
			return g[i], err
		}
	}
	withData := func(f func(*spaces.Net, Batch, uint64) (float64, error)) func(s *Scoring) (float64, error) {
		return func(s *Scoring) (float64, error) { return f(s.Net, s.Batch, s.Seed) }
	}
	for _, p := range []struct {
		name, doc string
		Proxy
	}{
		{"synflow", "log of the summed synaptic flow of |weights| on an input of ones (no data)",
			Proxy{Score: func(s *Scoring) (float64, error) { return synflow(s.Net, s.Seed) }}},
		{"grad_norm", "norm of the loss's gradient over the weights", Proxy{NeedsData: true, Score: gradient(0)}},
		{"snip", "summed |weight x gradient| (connection sensitivity)", Proxy{NeedsData: true, Score: gradient(1)}},
		{"grasp", "gradient signal preserved by the Hessian-gradient product", Proxy{NeedsData: true, Score: withData(grasp)}},
		{"fisher", "summed Fisher information of the activations", Proxy{NeedsData: true, Score: gradient(2)}},
		{"jacob_cov", "how uncorrelated the input Jacobians of a batch are", Proxy{NeedsData: true, Score: withData(jacobCov)}},
		{"naswot", "log-determinant of the ReLU codes' Hamming kernel", Proxy{NeedsData: true, Score: withData(naswot)}},
		{"params", "the parameters (no data)", Proxy{Score: func(s *Scoring) (float64, error) { return float64(s.Net.Params()), nil }}},
		// The parameters the output depends on: a dead branch's (an NB201 edge into a
		// node the output cannot see) counted in params make two networks of one
		// function score apart.
		{"live_params", "the parameters the output depends on (no data)",
			Proxy{Score: func(s *Scoring) (float64, error) { return float64(s.Net.LiveParams()), nil }}},
		{"flops", "the multiply-adds of one forward pass (no data)", Proxy{Score: func(s *Scoring) (float64, error) { return float64(s.Net.FLOPs()), nil }}},
	} {
		Register(p.name, p.doc, p.Proxy)
	}
}

// Batch is one minibatch: X holds N inputs (C x H x W each, the network's input
// shape), Y their one-hot labels (N x classes).
type Batch struct {
	X, Y []float32
	N    int
}

// Check validates names and returns them without repeats.
func Check(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if !registered.Has(n) {
			return nil, fmt.Errorf("unknown proxy %q: one of %s", n, strings.Join(Names(), ", "))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no proxy named: one or more of %s", strings.Join(Names(), ", "))
	}
	return out, nil
}

// Score computes the named scores of net on b, the network initialised from seed.
// Scores that share a pass (grad_norm, snip and fisher) share it.
func Score(names []string, net *spaces.Net, b Batch, seed uint64) (map[string]float64, error) {
	names, err := Check(names)
	if err != nil {
		return nil, err
	}
	in := net.Layers[0].Shape
	if data := slices.ContainsFunc(names, NeedsData); data {
		if b.N < 1 || len(b.X) != b.N*in.Elems() {
			return nil, fmt.Errorf("proxies: batch of %d inputs with %d values, want %d values of shape %dx%dx%d each", b.N, len(b.X), in.Elems(), in.C, in.H, in.W)
		}
		if classes := net.Layers[net.Output].Shape.C; len(b.Y) != b.N*classes {
			return nil, fmt.Errorf("proxies: %d label values for %d inputs and %d classes", len(b.Y), b.N, classes)
		}
	}
	s := &Scoring{Net: net, Batch: b, Seed: seed, names: names, memo: map[string]any{}}
	out := map[string]float64{}
	for _, n := range names {
		e, _ := registered.Lookup(n) // Check found it
		v, err := e.New.Score(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = NoSignal
		}
		out[n] = v
	}
	return out, nil
}

// rng is the initialisation of every score's network: the same draws for the same
// seed, so every score sees the same weights.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x5eed)) }

// synflow (Tanaka et al. 2020) is the sum over weights of theta * dR/dtheta, where R
// is the sum of the outputs of the network with every weight replaced by its
// magnitude, batch norms left out, biases zeroed, on an input of ones. It needs no
// data. The value is returned as its natural log: on NB201-sized networks it is far
// beyond float32 (the reference computes it in float64), so every cut of the network
// (a layer all paths pass through) divides its output by its largest value; that
// scales every path, and so the score, by the same factor, which is added back as a log.
func synflow(net *spaces.Net, seed uint64) (float64, error) {
	m, err := nn.CompileWith(net, 1, rng(seed), nn.CompileOptions{NoBatchNorm: true, NormaliseAfter: net.Cuts()})
	if err != nil {
		return 0, err
	}
	if len(m.WeightValues()) == 0 {
		return NoSignal, nil
	}
	linearise(m)
	p, err := nn.NewProbe(m, nn.SumOfLogits, nn.Weights)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	in := net.Layers[0].Shape
	ones := make([]float32, in.Elems())
	for i := range ones {
		ones[i] = 1
	}
	if err := p.Run(ones, nil); err != nil {
		return 0, err
	}
	sum := weightsDotGrads(m, p)
	if !(sum > 0) {
		return NoSignal, nil
	}
	return math.Log(sum) + m.LogScale(), nil
}

// linearise makes m synflow's network: every weight its magnitude, every other
// parameter (biases) zero.
func linearise(m *nn.Model) {
	for _, v := range m.WeightValues() {
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
	}
	for _, v := range m.OtherParamValues() {
		clear(v)
	}
}

// weightsDotGrads is the sum over m's weights of theta * d cost/d theta, from a probe
// run with respect to nn.Weights.
func weightsDotGrads(m *nn.Model, p *nn.Probe) float64 {
	var sum float64
	for i, w := range m.WeightValues() {
		for j, g := range p.Grad(i) {
			sum += float64(w[j]) * float64(g)
		}
	}
	return sum
}

// gradientScores are three scores from one forward and backward pass of the
// cross-entropy on the batch, batch norms on batch statistics:
//   - grad_norm (Abdelfattah et al. 2021): the sum over weight tensors of the L2 norm
//     of the loss's gradient;
//   - snip (Lee et al. 2019): the sum of |theta * dL/dtheta| over weights;
//   - fisher (Turner et al. 2020): for each conv and linear layer's output a and
//     channel c, 0.5 * mean over the batch of (sum over positions of a * dL/da)^2,
//     summed (0 unless withFisher).
func gradientScores(net *spaces.Net, b Batch, seed uint64, withFisher bool) (gradNorm, snip, fisher float64, err error) {
	m, err := nn.CompileWith(net, b.N, rng(seed), nn.CompileOptions{TapLayers: withFisher}) // taps only for fisher
	if err != nil {
		return 0, 0, 0, err
	}
	p, err := nn.NewProbe(m, nn.CrossEntropy, nn.Weights)
	if err != nil {
		return 0, 0, 0, err
	}
	defer p.Close()
	if err := p.Run(b.X, b.Y); err != nil {
		return 0, 0, 0, err
	}
	for i, theta := range m.WeightValues() {
		var sq float64
		for j, g := range p.Grad(i) {
			sq += float64(g) * float64(g)
			snip += math.Abs(float64(theta[j]) * float64(g))
		}
		gradNorm += math.Sqrt(sq)
	}
	for _, t := range m.Taps {
		dots, c := t.Dots()
		n := len(dots) / c
		for ch := 0; ch < c; ch++ {
			var sum float64
			for s := 0; s < n; s++ {
				sum += dots[s*c+ch] * dots[s*c+ch]
			}
			fisher += 0.5 * sum / float64(n)
		}
	}
	return gradNorm, snip, fisher, nil
}

// grasp (Wang et al. 2020) is the sum over weights of -theta * (H g), g the loss's
// gradient and H its Hessian. gorgonia has no second derivatives, so H g is the
// central difference of the gradient along g: (grad(theta + e g) - grad(theta - e g))
// / 2e. Two things make that the Hessian product double backpropagation gives:
//   - The ReLUs pass the units they passed at theta (nn.Model.FixActivations).
//     Otherwise every unit crossing zero between the two gradients adds a jump that
//     does not shrink with e.
//   - e is set by the loss, not by theta: the step changes the loss by graspStep of
//     itself to first order (e |g|^2 = graspStep L). A step of 1e-3 of theta's norm
//     moved the loss by 5-10% along g, far outside the quadratic range.
//
// Each alone left the score moving with the step (Spearman 0.03-0.22 on 50 NB201
// archs); both give 0.61-0.62 for steps 1e-4 to 1e-3 (PyTorch's exact product: 0.54).
func grasp(net *spaces.Net, b Batch, seed uint64) (float64, error) {
	return graspWithStep(net, b, seed, graspStep)
}

const graspStep = 1e-3

func graspWithStep(net *spaces.Net, b Batch, seed uint64, step float64) (float64, error) {
	m, err := nn.CompileWith(net, b.N, rng(seed), nn.CompileOptions{})
	if err != nil {
		return 0, err
	}
	weights := m.WeightValues()
	if len(weights) == 0 {
		return NoSignal, nil
	}
	p, err := nn.NewProbe(m, nn.CrossEntropy, nn.Weights)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	m.FixActivations() // the first run records, the shifted ones replay
	grads := func() ([][]float32, error) {
		if err := p.Run(b.X, b.Y); err != nil {
			return nil, err
		}
		out := make([][]float32, len(weights))
		for i := range weights {
			out[i] = slices.Clone(p.Grad(i))
		}
		return out, nil
	}
	g, err := grads()
	if err != nil {
		return 0, err
	}
	theta := make([][]float32, len(weights))
	var normG float64 // |g|^2
	for i, w := range weights {
		theta[i] = slices.Clone(w)
		for _, v := range g[i] {
			normG += float64(v) * float64(v)
		}
	}
	if normG == 0 {
		return 0, nil // a flat loss: no curvature along the gradient to weigh
	}
	eps := step * math.Max(p.Cost(), 1e-3) / normG
	shift := func(sign float64) {
		for i, v := range weights {
			for j := range v {
				v[j] = theta[i][j] + float32(sign*eps)*g[i][j]
			}
		}
	}
	shift(1)
	plus, err := grads()
	if err != nil {
		return 0, err
	}
	shift(-1)
	minus, err := grads()
	if err != nil {
		return 0, err
	}
	shift(0)
	var score float64
	for i := range theta {
		for j := range theta[i] {
			hg := (float64(plus[i][j]) - float64(minus[i][j])) / (2 * eps)
			score -= float64(theta[i][j]) * hg
		}
	}
	return score, nil
}

// jacobCov (Mellor et al. 2021, v1) scores the correlations between the inputs'
// Jacobians J_i = d(sum of outputs)/d x_i: with the eigenvalues v of their correlation
// matrix, -sum(log(v + k) + 1/(v + k)), k = 1e-5. Uncorrelated Jacobians score highest.
func jacobCov(net *spaces.Net, b Batch, seed uint64) (float64, error) {
	m, err := nn.CompileWith(net, b.N, rng(seed), nn.CompileOptions{})
	if err != nil {
		return 0, err
	}
	p, err := nn.NewProbe(m, nn.SumOfLogits, nn.Input)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if err := p.Run(b.X, nil); err != nil {
		return 0, err
	}
	j := p.Grad(0)
	d := len(j) / b.N
	rows := make([][]float64, b.N)
	for i := range rows {
		rows[i] = standardised(j[i*d : (i+1)*d])
	}
	corr := mat.NewSymDense(b.N, nil)
	for a := 0; a < b.N; a++ {
		for c := a; c < b.N; c++ {
			var r float64
			if a == c {
				r = 1
			} else {
				for k := range rows[a] {
					r += rows[a][k] * rows[c][k]
				}
			}
			corr.SetSym(a, c, r)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(corr, false) {
		return NoSignal, nil
	}
	const k = 1e-5
	var score float64
	for _, v := range eig.Values(nil) {
		v = math.Max(v, 0) // rounding can leave tiny negatives
		score -= math.Log(v+k) + 1/(v+k)
	}
	return score, nil
}

// standardised returns x minus its mean, divided by its norm, so that dot products of
// two are their correlation; a constant x gives zeros (no correlation with anything).
func standardised(x []float32) []float64 {
	out := make([]float64, len(x))
	var mean float64
	for _, v := range x {
		mean += float64(v)
	}
	mean /= float64(len(x))
	var norm float64
	for i, v := range x {
		out[i] = float64(v) - mean
		norm += out[i] * out[i]
	}
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i := range out {
		out[i] /= norm
	}
	return out
}

// naswot (Mellor et al. 2021) is log|det K| for the batch's binary ReLU codes c_i
// (which units are active): K_ij is the number of units on which inputs i and j
// agree. Inputs the network tells apart give a well-conditioned K. Codes are packed
// into words so K costs N^2/2 popcounts per 64 units.
func naswot(net *spaces.Net, b Batch, seed uint64) (float64, error) {
	m, err := nn.CompileWith(net, b.N, rng(seed), nn.CompileOptions{ReadReLUs: true})
	if err != nil {
		return 0, err
	}
	if m.ReLUCount() == 0 {
		return NoSignal, nil
	}
	p, err := nn.NewProbe(m, nn.CrossEntropy, nn.Nothing)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if err := p.Run(b.X, b.Y); err != nil {
		return 0, err
	}
	agree := make([]float64, b.N*b.N)
	for _, a := range m.ReLUValues() {
		per := len(a) / b.N
		words := (per + 63) / 64
		codes := make([]uint64, b.N*words)
		for s := 0; s < b.N; s++ {
			for i, v := range a[s*per : (s+1)*per] {
				if v > 0 {
					codes[s*words+i/64] |= 1 << (i % 64)
				}
			}
		}
		for s := 0; s < b.N; s++ {
			for t := s; t < b.N; t++ {
				diff := 0
				for w := 0; w < words; w++ {
					diff += bits.OnesCount64(codes[s*words+w] ^ codes[t*words+w])
				}
				agree[s*b.N+t] += float64(per - diff)
			}
		}
	}
	k := mat.NewSymDense(b.N, nil)
	for s := 0; s < b.N; s++ {
		for t := s; t < b.N; t++ {
			k.SetSym(s, t, agree[s*b.N+t])
		}
	}
	var lu mat.LU
	lu.Factorize(k)
	logDet, sign := lu.LogDet()
	if sign == 0 || math.IsInf(logDet, 0) || math.IsNaN(logDet) {
		return NoSignal, nil
	}
	return logDet, nil
}
