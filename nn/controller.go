package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Controller is an LSTM policy over a fixed sequence of categorical choices, as the
// controllers of NASNet and ENAS: step 0 reads a learned start vector, each later step
// an embedding of the choice before it, and each step has its own softmax head over
// its choices. It samples in plain Go and learns by REINFORCE through a gorgonia graph
// of the same weights: loss = -advantage * sum log p(tokens) - entropyWeight * entropy.
type Controller struct {
	sizes  []int
	hidden int
	// Weights, by name: start (1 x H); emb<t> (sizes[t-1] x H) for t >= 1; for each
	// gate q in i, f, g, o: wx<q>, wh<q> (H x H) and b<q> (1 x H); head<t> (H x
	// sizes[t]) and hb<t> (1 x sizes[t]).
	w     map[string][]float32
	names []string // the weights in a fixed order

	g      *G.ExprGraph
	vm     G.VM
	params []*G.Node
	prev   []*G.Node // one-hot of the token before step t (nil at t = 0)
	pick   []*G.Node // one-hot of the token at step t
	adv    *G.Node
	entW   *G.Node
	ent    *G.Node
	opt    *adam
}

var gates = []string{"i", "f", "g", "o"}

// NewController builds a controller for choices of the given sizes, its weights
// uniform in +-0.1 from seed (as ENAS initialises its controller).
func NewController(sizes []int, hidden int, lr float64, seed uint64) (*Controller, error) {
	if len(sizes) == 0 || hidden < 1 || hidden > 1024 {
		return nil, fmt.Errorf("nn: controller of %d steps and hidden size %d", len(sizes), hidden)
	}
	for i, k := range sizes {
		if k < 1 {
			return nil, fmt.Errorf("nn: controller step %d has %d choices", i, k)
		}
	}
	c := &Controller{sizes: sizes, hidden: hidden, w: map[string][]float32{}}
	rng := rand.New(rand.NewPCG(seed, seed^0xc0de))
	add := func(name string, rows, cols int) {
		c.w[name] = uniform(rng, rows*cols, 0.1)
		c.names = append(c.names, name)
	}
	add("start", 1, hidden)
	for _, q := range gates {
		add("wx"+q, hidden, hidden)
		add("wh"+q, hidden, hidden)
		add("b"+q, 1, hidden)
	}
	for t, k := range sizes {
		if t > 0 {
			add(fmt.Sprintf("emb%d", t), sizes[t-1], hidden)
		}
		add(fmt.Sprintf("head%d", t), hidden, k)
		add(fmt.Sprintf("hb%d", t), 1, k)
	}
	if err := c.build(); err != nil {
		return nil, err
	}
	c.opt = newAdam(c.params, lr)
	return c, nil
}

// shape is a weight's rows and columns.
func (c *Controller) shape(name string) (int, int) {
	var t int
	switch {
	case name == "start":
		return 1, c.hidden
	case name[0] == 'b' && len(name) == 2:
		return 1, c.hidden
	case name[:2] == "wx" || name[:2] == "wh":
		return c.hidden, c.hidden
	case len(name) > 3 && name[:3] == "emb":
		fmt.Sscan(name[3:], &t)
		return c.sizes[t-1], c.hidden
	case len(name) > 4 && name[:4] == "head":
		fmt.Sscan(name[4:], &t)
		return c.hidden, c.sizes[t]
	default: // hb<t>
		fmt.Sscan(name[2:], &t)
		return 1, c.sizes[t]
	}
}

// build makes the REINFORCE graph over the weights' own memory.
func (c *Controller) build() error {
	g := G.NewGraph()
	node := map[string]*G.Node{}
	for _, n := range c.names {
		r, k := c.shape(n)
		node[n] = G.NewMatrix(g, tensor.Float32, G.WithShape(r, k), G.WithName(n), G.WithValue(newDense(tensor.Shape{r, k}, c.w[n])))
		c.params = append(c.params, node[n])
	}
	matrix := func(name string, k int) *G.Node {
		return G.NewMatrix(g, tensor.Float32, G.WithShape(1, k), G.WithName(name), G.WithValue(newDense(tensor.Shape{1, k}, make([]float32, k))))
	}
	var err error
	must := func(n *G.Node, e error) *G.Node {
		if err == nil {
			err = e
		}
		return n
	}
	h := G.NewConstant(newDense(tensor.Shape{1, c.hidden}, make([]float32, c.hidden)), G.WithName("h0"))
	cell := G.NewConstant(newDense(tensor.Shape{1, c.hidden}, make([]float32, c.hidden)), G.WithName("c0"))
	var logps, ents []*G.Node
	for t, k := range c.sizes {
		in := node["start"]
		c.prev = append(c.prev, nil)
		if t > 0 {
			c.prev[t] = matrix(fmt.Sprintf("prev%d", t), c.sizes[t-1])
			in = must(G.Mul(c.prev[t], node[fmt.Sprintf("emb%d", t)]))
		}
		gate := map[string]*G.Node{}
		for _, q := range gates {
			z := must(G.Add(must(G.Mul(in, node["wx"+q])), must(G.Mul(h, node["wh"+q]))))
			z = must(G.Add(z, node["b"+q]))
			if q == "g" {
				gate[q] = must(G.Tanh(z))
			} else {
				gate[q] = must(G.Sigmoid(z))
			}
		}
		cell = must(G.Add(must(G.HadamardProd(gate["f"], cell)), must(G.HadamardProd(gate["i"], gate["g"]))))
		h = must(G.HadamardProd(gate["o"], must(G.Tanh(cell))))
		logits := must(G.Add(must(G.Mul(h, node[fmt.Sprintf("head%d", t)])), node[fmt.Sprintf("hb%d", t)]))
		logp := must(G.LogSoftMax(logits))
		pick := matrix(fmt.Sprintf("pick%d", t), k)
		c.pick = append(c.pick, pick)
		logps = append(logps, must(G.Sum(must(G.HadamardProd(logp, pick)))))
		ents = append(ents, must(G.Neg(must(G.Sum(must(G.HadamardProd(must(G.Exp(logp)), logp)))))))
		if err != nil {
			return fmt.Errorf("nn: controller step %d: %w", t, err)
		}
	}
	sumLogp := logps[0]
	c.ent = ents[0]
	for t := 1; t < len(logps); t++ {
		sumLogp = must(G.Add(sumLogp, logps[t]))
		c.ent = must(G.Add(c.ent, ents[t]))
	}
	c.adv = G.NewScalar(g, tensor.Float32, G.WithName("advantage"), G.WithValue(float32(0)))
	c.entW = G.NewScalar(g, tensor.Float32, G.WithName("entropy_weight"), G.WithValue(float32(0)))
	loss := must(G.Neg(must(G.Add(must(G.Mul(c.adv, sumLogp)), must(G.Mul(c.entW, c.ent))))))
	if err != nil {
		return fmt.Errorf("nn: controller loss: %w", err)
	}
	if _, err := G.Grad(loss, c.params...); err != nil {
		return fmt.Errorf("nn: controller gradients: %w", err)
	}
	c.g, c.vm = g, G.NewTapeMachine(g, G.BindDualValues(c.params...))
	return nil
}

// Probs is the distribution of the step after prefix (the choices made so far).
func (c *Controller) Probs(prefix []int) []float64 {
	H := c.hidden
	h, cell := make([]float64, H), make([]float64, H)
	var probs []float64
	for t := 0; t <= len(prefix) && t < len(c.sizes); t++ {
		in := make([]float64, H)
		if t == 0 {
			for j, v := range c.w["start"] {
				in[j] = float64(v)
			}
		} else {
			row := c.w[fmt.Sprintf("emb%d", t)][prefix[t-1]*H : (prefix[t-1]+1)*H]
			for j, v := range row {
				in[j] = float64(v)
			}
		}
		gate := map[string][]float64{}
		for _, q := range gates {
			z := make([]float64, H)
			wx, wh, b := c.w["wx"+q], c.w["wh"+q], c.w["b"+q]
			for j := 0; j < H; j++ {
				s := float64(b[j])
				for i := 0; i < H; i++ {
					s += in[i]*float64(wx[i*H+j]) + h[i]*float64(wh[i*H+j])
				}
				if q == "g" {
					z[j] = math.Tanh(s)
				} else {
					z[j] = 1 / (1 + math.Exp(-s))
				}
			}
			gate[q] = z
		}
		for j := 0; j < H; j++ {
			cell[j] = gate["f"][j]*cell[j] + gate["i"][j]*gate["g"][j]
			h[j] = gate["o"][j] * math.Tanh(cell[j])
		}
		if t == len(prefix) {
			k := c.sizes[t]
			head, hb := c.w[fmt.Sprintf("head%d", t)], c.w[fmt.Sprintf("hb%d", t)]
			logits := make([]float64, k)
			top := math.Inf(-1)
			for o := 0; o < k; o++ {
				s := float64(hb[o])
				for i := 0; i < H; i++ {
					s += h[i] * float64(head[i*k+o])
				}
				logits[o] = s
				top = math.Max(top, s)
			}
			probs = Softmax(logits)
		}
	}
	return probs
}

// Sample draws a sequence of choices from the policy.
func (c *Controller) Sample(rng *rand.Rand) []int {
	tokens := make([]int, 0, len(c.sizes))
	for len(tokens) < len(c.sizes) {
		p := c.Probs(tokens)
		u, acc, pick := rng.Float64(), 0.0, len(p)-1
		for o, v := range p {
			acc += v
			if u < acc {
				pick = o
				break
			}
		}
		tokens = append(tokens, pick)
	}
	return tokens
}

// Update takes one Adam step of REINFORCE on a sequence with its advantage (reward
// minus baseline) and returns the sequence's policy entropy before the step.
func (c *Controller) Update(tokens []int, advantage, entropyWeight float64) (float64, error) {
	if len(tokens) != len(c.sizes) {
		return 0, fmt.Errorf("nn: controller: %d tokens, want %d", len(tokens), len(c.sizes))
	}
	for t, v := range tokens {
		if v < 0 || v >= c.sizes[t] {
			return 0, fmt.Errorf("nn: controller: token %d is %d of %d choices", t, v, c.sizes[t])
		}
		setOneHot(c.pick[t], v)
		if t > 0 {
			setOneHot(c.prev[t], tokens[t-1])
		}
	}
	if err := G.Let(c.adv, float32(advantage)); err != nil {
		return 0, err
	}
	if err := G.Let(c.entW, float32(entropyWeight)); err != nil {
		return 0, err
	}
	c.vm.Reset()
	if err := c.vm.RunAll(); err != nil {
		return 0, err
	}
	ent := float64(values(c.ent)[0])
	return ent, c.opt.step(c.params)
}

func setOneHot(n *G.Node, v int) {
	d := values(n)
	clear(d)
	d[v] = 1
}

// controllerState is a controller's weights and optimiser, for snapshots.
type controllerState struct {
	W map[string][]float32 `json:"w"`
	M [][]float64          `json:"m"`
	V [][]float64          `json:"v"`
	T int                  `json:"t"`
}

// MarshalJSON saves the weights and the optimiser's moments.
func (c *Controller) MarshalJSON() ([]byte, error) {
	return json.Marshal(controllerState{W: c.w, M: c.opt.m, V: c.opt.v, T: c.opt.t})
}

// UnmarshalJSON restores a controller saved by MarshalJSON into one built with the
// same sizes and hidden size.
func (c *Controller) UnmarshalJSON(b []byte) error {
	var st controllerState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	for _, n := range c.names {
		if len(st.W[n]) != len(c.w[n]) {
			return fmt.Errorf("nn: controller snapshot: weight %s has %d values, want %d", n, len(st.W[n]), len(c.w[n]))
		}
		copy(c.w[n], st.W[n]) // in place: the graph reads this memory
	}
	if len(st.M) != len(c.opt.m) || len(st.V) != len(c.opt.v) {
		return fmt.Errorf("nn: controller snapshot: optimiser state for %d weights, want %d", len(st.M), len(c.opt.m))
	}
	for i := range st.M {
		if len(st.M[i]) != len(c.opt.m[i]) || len(st.V[i]) != len(c.opt.v[i]) {
			return fmt.Errorf("nn: controller snapshot: optimiser state of weight %d has the wrong size", i)
		}
		copy(c.opt.m[i], st.M[i])
		copy(c.opt.v[i], st.V[i])
	}
	c.opt.t = st.T
	return nil
}

// Softmax is the distribution exp(x_i) / sum_j exp(x_j), computed from x minus its
// largest value so that no term overflows.
func Softmax(x []float64) []float64 {
	top := math.Inf(-1)
	for _, v := range x {
		top = math.Max(top, v)
	}
	out := make([]float64, len(x))
	var sum float64
	for i, v := range x {
		out[i] = math.Exp(v - top)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
