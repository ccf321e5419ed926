package spaces

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Scaling multiplies a network's depth (blocks or cells per stage), width (channels)
// and input resolution, as EfficientNet's compound scaling does (Tan and Le 2019).
type Scaling struct {
	Depth      float64 `json:"depth"`
	Width      float64 `json:"width"`
	Resolution float64 `json:"resolution"`
}

// Unscaled changes nothing.
var Unscaled = Scaling{1, 1, 1}

// Scalable is a space that builds its archs' networks scaled.
type Scalable interface {
	Space
	ScaledNetwork(a Arch, s Scaling) (*Net, error)
	// Effective is what a's network is scaled by in fact, once rounded: channels to
	// a multiple of 4, depths up, the input to what the skeleton takes.
	Effective(a Arch, s Scaling) Scaling
}

// channelDivisor is what scaled channel counts are rounded to a multiple of
// (EfficientNet rounds to 8; 4 keeps small cells such as NB201's 16 from jumping).
const channelDivisor = 4

// scaleChannels rounds c×w to a multiple of channelDivisor, never more than 10% below
// c×w (EfficientNet's round_filters).
func scaleChannels(c int, w float64) int {
	f := float64(c) * w
	n := max(channelDivisor, int(f+channelDivisor/2)/channelDivisor*channelDivisor)
	if float64(n) < 0.9*f {
		n += channelDivisor
	}
	return n
}

// scaleDepth is ceil(d×n) (EfficientNet's round_repeats).
func scaleDepth(n int, d float64) int { return int(math.Ceil(float64(n) * d)) }

// scaled multiplies the input's height and width by r, rounded to a multiple of m
// (a skeleton that halves the resolution k times with two paths that must agree,
// as NB201's and DARTS's reductions do, needs a multiple of 2^k).
func (o Options) scaled(r float64, m int) Options {
	for i := 1; i <= 2; i++ {
		o.Input[i] = max(m, int(math.Round(float64(o.Input[i])*r/float64(m)))*m)
	}
	return o
}

func (s *NB201) Effective(_ Arch, sc Scaling) Scaling {
	o := s.opt
	return Scaling{ratio(scaleDepth(o.Cells, sc.Depth), o.Cells), ratio(scaleChannels(o.Channels, sc.Width), o.Channels), ratio(o.scaled(sc.Resolution, 4).Input[1], o.Input[1])}
}

func (s *Cell) Effective(_ Arch, sc Scaling) Scaling {
	o := s.opt
	return Scaling{ratio(scaleDepth(o.Layers, sc.Depth), o.Layers), ratio(scaleChannels(o.Channels, sc.Width), o.Channels), ratio(o.scaled(sc.Resolution, 4).Input[1], o.Input[1])}
}

// Effective is by the stages' depths together and the stem's width.
func (s *Network) Effective(a Arch, sc Scaling) Scaling {
	o := s.opt
	var depth, scaled int
	if s.Validate(a) == nil {
		for _, st := range s.arch(a).Stages() {
			depth, scaled = depth+st.Depth, scaled+scaleDepth(st.Depth, sc.Depth)
		}
	}
	return Scaling{ratio(scaled, depth), ratio(scaleChannels(o.Stem, sc.Width), o.Stem), ratio(o.scaled(sc.Resolution, 1).Input[1], o.Input[1])}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// ScaledNetwork builds a's network with Channels, Cells and the input scaled.
func (s *NB201) ScaledNetwork(a Arch, sc Scaling) (*Net, error) {
	opt := s.opt
	opt.Options, opt.Channels, opt.Cells = opt.scaled(sc.Resolution, 4), scaleChannels(opt.Channels, sc.Width), scaleDepth(opt.Cells, sc.Depth)
	return scaledBuild(a, sc, func() (*NB201, error) { return NewNB201(opt) })
}

// ScaledNetwork builds a's network with Channels, Layers and the input scaled.
func (s *Cell) ScaledNetwork(a Arch, sc Scaling) (*Net, error) {
	opt := s.opt
	opt.Options, opt.Channels, opt.Layers = opt.scaled(sc.Resolution, 4), scaleChannels(opt.Channels, sc.Width), scaleDepth(opt.Layers, sc.Depth)
	return scaledBuild(a, sc, func() (*Cell, error) { return NewCell(opt) })
}

// scaledBuild builds a in the space that scaled options make. nb201 and cell halve
// the resolution twice with two paths that must agree, hence inputs a multiple of 4.
func scaledBuild[S Space](a Arch, sc Scaling, space func() (S, error)) (*Net, error) {
	t, err := space()
	if err != nil {
		return nil, fmt.Errorf("scaled %s: %w", scaledLabel(sc), err)
	}
	return t.Network(a)
}

// ScaledNetwork builds a's network with every stage's depth and width, the stem and
// the input scaled. Scaled stages may leave the space's ranges (depth 10, width 512):
// they are built, not searched.
func (s *Network) ScaledNetwork(a Arch, sc Scaling) (*Net, error) {
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	stages := s.arch(a).Stages()
	for i := range stages {
		stages[i].Depth = scaleDepth(stages[i].Depth, sc.Depth)
		stages[i].Width = scaleChannels(stages[i].Width, sc.Width)
		if stages[i].Depth > 64 || stages[i].Width > maxChannels {
			return nil, fmt.Errorf("scaled %s: stage %d has depth %d and width %d (at most 64 and %d)", scaledLabel(sc), i, stages[i].Depth, stages[i].Width, maxChannels)
		}
	}
	opt := s.opt
	opt.Options = opt.scaled(sc.Resolution, 1) // stride-2 convs and their shortcuts agree on any size
	opt.Stem = scaleChannels(opt.Stem, sc.Width)
	t, err := NewNetwork(opt)
	if err != nil {
		return nil, fmt.Errorf("scaled %s: %w", scaledLabel(sc), err)
	}
	return t.build(stages)
}

func scaledLabel(s Scaling) string {
	return fmt.Sprintf("(depth ×%.3g, width ×%.3g, resolution ×%.3g)", s.Depth, s.Width, s.Resolution)
}

// Coefficients are EfficientNet's compound scaling of one base network: depth
// alpha^phi, width beta^phi and resolution gamma^phi.
type Coefficients struct{ Alpha, Beta, Gamma, Phi float64 }

// Scaling is the multipliers the coefficients give.
func (c Coefficients) Scaling() Scaling {
	return Scaling{math.Pow(c.Alpha, c.Phi), math.Pow(c.Beta, c.Phi), math.Pow(c.Gamma, c.Phi)}
}

// FLOPsFactor is alpha·beta²·gamma²: about how much one step of phi multiplies FLOPs.
func (c Coefficients) FLOPsFactor() float64 {
	return c.Alpha * c.Beta * c.Beta * c.Gamma * c.Gamma
}

func (c Coefficients) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) } // exact: Parse gives the same values
	return "alpha=" + f(c.Alpha) + ",beta=" + f(c.Beta) + ",gamma=" + f(c.Gamma) + ",phi=" + f(c.Phi)
}

// Limits on the coefficients: far beyond any useful scaling, low enough that a typo
// cannot ask for a network too large to describe.
const maxCoefficient, maxPhi = 4, 16

func (c Coefficients) check() error {
	for _, v := range []struct {
		name string
		v    float64
	}{{"alpha", c.Alpha}, {"beta", c.Beta}, {"gamma", c.Gamma}} {
		if !(v.v >= 1 && v.v <= maxCoefficient) {
			return fmt.Errorf("%s %g must be from 1 to %d", v.name, v.v, maxCoefficient)
		}
	}
	if !(c.Phi >= 0 && c.Phi <= maxPhi) {
		return fmt.Errorf("phi %g must be from 0 to %d", c.Phi, maxPhi)
	}
	return nil
}

// ScaledArch is a base arch with compound scaling coefficients, written
// `<base arch>@alpha=1.2,beta=1.1,gamma=1.15,phi=1`.
type ScaledArch struct {
	base Arch
	s    string
	Coefficients
}

// NewScaledArch joins a base arch and its coefficients.
func NewScaledArch(base Arch, c Coefficients) ScaledArch {
	return ScaledArch{base: base, s: base.String() + "@" + c.String(), Coefficients: c}
}

func (a ScaledArch) String() string { return a.s }

// Base is the arch before scaling.
func (a ScaledArch) Base() Arch { return a.base }

// Scaled is a space of scaled archs: each is an arch of the base space with its
// compound scaling coefficients. Sampling, mutation and neighbours act on the base
// arch and keep the coefficients; the compound strategy sets them.
type Scaled struct{ base Scalable }

// NewScaled wraps a space that can scale its networks.
func NewScaled(s Space) (*Scaled, error) {
	b, ok := s.(Scalable)
	if !ok {
		return nil, fmt.Errorf("space %s cannot scale its networks", s.Name())
	}
	return &Scaled{base: b}, nil
}

// Scaled spaces have no Unwrap: a scaled arch is not an arch of the base space, so
// nothing that looks through wrappers (Base) may treat it as one.

func (s *Scaled) Name() string { return s.base.Name() }

// BaseSpace is the space the base archs come from.
func (s *Scaled) BaseSpace() Space { return s.base }

func (s *Scaled) arch(a Arch) ScaledArch {
	x, ok := a.(ScaledArch)
	if !ok {
		panic(wrongArch("scaled "+s.base.Name(), a))
	}
	return x
}

func unit() Coefficients { return Coefficients{1, 1, 1, 0} }

// Sample draws a base arch, unscaled.
// Function is the base arch's function at the size its network is built: scalings
// that round to one network (channels to a multiple of 4, depths up, the input to a
// multiple of 4: width 1.1 of NB201's 16 channels is 16 again) are one function, which
// dedupe then trains once.
func (s *Scaled) Function(a Arch) string {
	x := s.arch(a)
	net, err := s.base.ScaledNetwork(x.base, x.Scaling())
	if err != nil {
		return a.String()
	}
	in := net.Layers[0].Shape
	return fmt.Sprintf("%s@%dx%dx%d/%d layers/%d params/%d flops", FunctionOf(s.base, x.base), in.C, in.H, in.W, len(net.Layers), net.Params(), net.FLOPs())
}

func (s *Scaled) Sample(rng *rand.Rand) Arch {
	return NewScaledArch(s.base.Sample(rng), unit())
}

func (s *Scaled) Mutate(a Arch, rng *rand.Rand) Arch {
	x := s.arch(a)
	return NewScaledArch(s.base.Mutate(x.base, rng), x.Coefficients)
}

func (s *Scaled) Neighbours(a Arch) []Arch {
	x := s.arch(a)
	var out []Arch
	for _, n := range s.base.Neighbours(x.base) {
		out = append(out, NewScaledArch(n, x.Coefficients))
	}
	return out
}

// Encode is the base arch's encoding followed by the four coefficients.
func (s *Scaled) Encode(a Arch) []float64 {
	x := s.arch(a)
	return append(s.base.Encode(x.base), x.Alpha, x.Beta, x.Gamma, x.Phi)
}

// Parse reads `<base>@alpha=A,beta=B,gamma=G,phi=P`; a string without "@" is the
// base arch unscaled.
func (s *Scaled) Parse(b []byte) (Arch, error) {
	str := string(b)
	at := strings.LastIndexByte(str, '@')
	if at < 0 {
		base, err := s.base.Parse(b)
		if err != nil {
			return nil, err
		}
		return NewScaledArch(base, unit()), nil
	}
	base, err := s.base.Parse(b[:at])
	if err != nil {
		return nil, err
	}
	c := Coefficients{}
	fields := map[string]*float64{"alpha": &c.Alpha, "beta": &c.Beta, "gamma": &c.Gamma, "phi": &c.Phi}
	pos := at + 1
	for _, part := range strings.Split(str[at+1:], ",") {
		k, v, ok := strings.Cut(part, "=")
		dst := fields[k]
		if !ok || dst == nil {
			return nil, &ParseError{Space: s.Name(), Pos: pos, Token: part, Msg: "expected alpha=, beta=, gamma= or phi= and a number"}
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, &ParseError{Space: s.Name(), Pos: pos + len(k) + 1, Token: v, Msg: "not a number"}
		}
		*dst = f
		delete(fields, k)
		pos += len(part) + 1
	}
	if len(fields) > 0 {
		return nil, &ParseError{Space: s.Name(), Pos: len(str), Msg: "the coefficients need all of alpha, beta, gamma and phi"}
	}
	if err := c.check(); err != nil {
		return nil, &ParseError{Space: s.Name(), Pos: at + 1, Token: str[at+1:], Msg: err.Error()}
	}
	return NewScaledArch(base, c), nil
}

// EffectiveScaling is what a scaled arch's network is scaled by once rounded.
func (s *Scaled) EffectiveScaling(a Arch) Scaling {
	x := s.arch(a)
	return s.base.Effective(x.base, x.Scaling())
}

func (s *Scaled) Validate(a Arch) error {
	x, ok := a.(ScaledArch)
	if !ok {
		return fmt.Errorf("scaled %s: not a scaled arch: %v", s.Name(), a)
	}
	if err := x.Coefficients.check(); err != nil {
		return fmt.Errorf("scaled %s: %w", s.Name(), err)
	}
	return s.base.Validate(x.base)
}

func (s *Scaled) Network(a Arch) (*Net, error) {
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	x := s.arch(a)
	return s.base.ScaledNetwork(x.base, x.Scaling())
}
