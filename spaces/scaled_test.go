package spaces

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestScaleChannelsAndDepth(t *testing.T) {
	for _, tc := range []struct {
		c    int
		w    float64
		want int
	}{{16, 1, 16}, {16, 1.1, 16}, {16, 1.2, 20}, {16, 2, 32}, {3, 1, 4}, {512, 1.21, 620}} {
		if got := scaleChannels(tc.c, tc.w); got != tc.want {
			t.Errorf("scaleChannels(%d, %g) = %d, want %d", tc.c, tc.w, got, tc.want)
		}
	}
	if scaleDepth(5, 1.21) != 7 || scaleDepth(5, 1) != 5 {
		t.Error("scaleDepth is not ceil(n·d)")
	}
}

func TestScaledArchRoundTrip(t *testing.T) {
	for _, base := range allSpaces(t) {
		s, err := NewScaled(base)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			b := base.Sample(rng)
			a := NewScaledArch(b, Coefficients{Alpha: 1.2, Beta: 1.1, Gamma: 1.15, Phi: 1.5})
			back, err := s.Parse([]byte(a.String()))
			if err != nil || back.String() != a.String() || back.(ScaledArch).Coefficients != a.Coefficients {
				t.Fatalf("%s: round trip gave %v, %v", a, back, err)
			}
			if got, err := s.Parse([]byte(b.String())); err != nil || got.(ScaledArch).Phi != 0 {
				t.Fatalf("an unscaled string should parse at phi 0: %v, %v", got, err)
			}
		}
	}
}

func TestScaledParseErrors(t *testing.T) {
	s, err := NewScaled(mustNB201(t, DefaultNB201))
	if err != nil {
		t.Fatal(err)
	}
	base := "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
	for _, tc := range []struct{ suffix, say string }{
		{"@alpha=1.2,beta=1.1,gamma=1.15", "need all of alpha, beta, gamma and phi"},
		{"@alpha=1.2,beta=1.1,gamma=1.15,phi=x", `token "x" at position 130: not a number`},
		{"@alpha=1.2,beta=1.1,gamma=1.15,psi=1", `token "psi=1" at position 126: expected alpha=`},
		{"@alpha=0.5,beta=1.1,gamma=1.15,phi=1", "alpha 0.5 must be from 1 to 4"},
		{"@alpha=1.2,beta=1.1,gamma=1.15,phi=40", "phi 40 must be from 0 to 16"},
	} {
		_, err := s.Parse([]byte(base + tc.suffix))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.say) || pe.Pos <= len(base) {
			t.Errorf("%s: got %v; want a parse error past the base arch saying %q", tc.suffix, err, tc.say)
		}
	}
}

func TestScaledNetworks(t *testing.T) {
	for _, base := range allSpaces(t) {
		t.Run(base.Name(), func(t *testing.T) {
			s, err := NewScaled(base)
			if err != nil {
				t.Fatal(err)
			}
			b := base.Sample(rand.New(rand.NewPCG(3, 4)))
			plain, err := base.Network(b)
			if err != nil {
				t.Fatal(err)
			}
			net := func(c Coefficients) *Net {
				t.Helper()
				n, err := s.Network(NewScaledArch(b, c))
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			if u := net(Coefficients{1, 1, 1, 0}); u.FLOPs() != plain.FLOPs() || u.Params() != plain.Params() || len(u.Layers) != len(plain.Layers) {
				t.Fatalf("phi 0 changed the network")
			}
			depth, width, res := net(Coefficients{2, 1, 1, 1}), net(Coefficients{1, 2, 1, 1}), net(Coefficients{1, 1, 2, 1})
			if len(depth.Layers) <= len(plain.Layers) || depth.Layers[0].Shape != plain.Layers[0].Shape {
				t.Errorf("depth ×2: %d layers (from %d), input %v", len(depth.Layers), len(plain.Layers), depth.Layers[0].Shape)
			}
			if width.Params() <= plain.Params() || len(width.Layers) != len(plain.Layers) {
				t.Errorf("width ×2: %d params (from %d)", width.Params(), plain.Params())
			}
			in := res.Layers[0].Shape
			if in.H != 2*plain.Layers[0].Shape.H || in.W != 2*plain.Layers[0].Shape.W || res.Params() != plain.Params() {
				t.Errorf("resolution ×2: input %v, %d params (from %d)", in, res.Params(), plain.Params())
			}
			// FLOPs grow with phi along EfficientNet's coefficients.
			prev := plain.FLOPs()
			for _, phi := range []float64{0.5, 1, 2, 3} {
				f := net(Coefficients{1.2, 1.1, 1.15, phi}).FLOPs()
				if f < prev {
					t.Errorf("phi %g: %d FLOPs, fewer than at a smaller phi (%d)", phi, f, prev)
				}
				prev = f
			}
			if prev < 3*plain.FLOPs() {
				t.Errorf("phi 3 gives only %d FLOPs from %d (1.92^3 ≈ 7x expected)", prev, plain.FLOPs())
			}
		})
	}
}

func TestScaledNeedsAScalableSpace(t *testing.T) {
	c, err := Constrain(mustNB201(t, DefaultNB201), []Limit{paramsLimit(1e9)}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewScaled(c); err == nil || !strings.Contains(err.Error(), "cannot scale") {
		t.Errorf("got %v", err)
	}
}

// Two scalings that round to one network are one function; another size is another.
func TestScalingsOfOneNetworkAreOneFunction(t *testing.T) {
	base, err := NewNB201(NB201Options{Options: Options{Input: [3]int{1, 28, 28}, Classes: 10}, Channels: 16, Cells: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScaled(base)
	if err != nil {
		t.Fatal(err)
	}
	cell := NB201Arch{3, 3, 3, 3, 3, 3}
	unscaled := NewScaledArch(cell, Coefficients{1, 1, 1, 0})
	wider := NewScaledArch(cell, Coefficients{1, 1.1, 1, 1})  // 17.6 channels round to 16
	widest := NewScaledArch(cell, Coefficients{1, 1.5, 1, 1}) // 24
	if FunctionOf(s, unscaled) != FunctionOf(s, wider) {
		t.Errorf("width 1.1 builds the unscaled network, yet is another function:\n%s\n%s", FunctionOf(s, unscaled), FunctionOf(s, wider))
	}
	if FunctionOf(s, unscaled) == FunctionOf(s, widest) {
		t.Errorf("width 1.5 is another network, yet the same function: %s", FunctionOf(s, widest))
	}
}
