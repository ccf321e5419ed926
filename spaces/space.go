// Package spaces holds the search spaces, their genotypes (Arch) and the network IR
// (Net) that every other part of cellar reads. It is pure Go and imports nothing of
// the project.
package spaces

import (
	"fmt"
	"math/rand/v2"
)

// Arch is an immutable genotype. Its String is canonical: two Archs of one space are
// the same architecture exactly when their Strings are equal, and the space's Parse
// of the String gives the Arch back.
type Arch interface {
	String() string
}

// Space is a search space: how to draw, change, encode, read and build its Archs.
// Archs passed to a Space must come from that Space (its Sample, Mutate, Neighbours
// or Parse); an Arch of another space is a programming error and panics.
type Space interface {
	Name() string
	// Sample draws an Arch uniformly at random from the space.
	Sample(rng *rand.Rand) Arch
	// Mutate returns a valid Arch that differs from a by one random step.
	Mutate(a Arch, rng *rand.Rand) Arch
	// Neighbours lists every Arch one step away from a, in a fixed order.
	Neighbours(a Arch) []Arch
	// Encode maps an Arch to a vector of a length fixed for the space (for predictors).
	Encode(a Arch) []float64
	// Parse reads an Arch from its String form; errors name the bad token and its
	// byte position.
	Parse(b []byte) (Arch, error)
	// Validate says whether an Arch is within the space as configured.
	Validate(a Arch) error
	// Network builds the IR of the full network for an Arch.
	Network(a Arch) (*Net, error)
}

// ParseError says which token of an architecture string is wrong and where.
type ParseError struct {
	Space string
	Pos   int    // byte offset of the token in the input
	Token string // the offending text ("" at the end of input)
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Token == "" {
		return fmt.Sprintf("%s arch: at position %d: %s", e.Space, e.Pos, e.Msg)
	}
	return fmt.Sprintf("%s arch: token %q at position %d: %s", e.Space, e.Token, e.Pos, e.Msg)
}

// Options are the settings every space shares: the shape of one input sample and the
// number of classes of the classifier head.
type Options struct {
	Input   [3]int `yaml:"input"`   // channels, height, width
	Classes int    `yaml:"classes"` // outputs of the final linear layer
}

// CIFAR is the default input: CIFAR-10's 3x32x32 images in 10 classes.
var CIFAR = Options{Input: [3]int{3, 32, 32}, Classes: 10}

// Limits on option values: far above any real network, low enough that a typo cannot
// make a network too large to describe.
const (
	maxInputDim = 4096
	maxClasses  = 100000
	maxChannels = 4096
)

func (o Options) check() error {
	for i, n := range o.Input {
		if n < 1 || n > maxInputDim {
			return fmt.Errorf("input: dimension %d is %d; give channels, height and width, each from 1 to %d", i, n, maxInputDim)
		}
	}
	if o.Classes < 1 || o.Classes > maxClasses {
		return fmt.Errorf("classes: %d; must be from 1 to %d", o.Classes, maxClasses)
	}
	return nil
}

// checkRange says "<name> <v> must be from lo to hi" when v is outside.
func checkRange(space, name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s: %s %d must be from %d to %d", space, name, v, lo, hi)
	}
	return nil
}

func (o Options) shape() Shape { return Shape{o.Input[0], o.Input[1], o.Input[2]} }

// head adds the classifier: global average pool and a linear layer.
func (o Options) head(b *builder, x int) int {
	x = b.add(Layer{Kind: GlobalPool, Name: "head/pool", Inputs: []int{x}})
	return b.add(Layer{Kind: Linear, Name: "head/linear", Inputs: []int{x}, OutC: o.Classes, Bias: true})
}

func wrongArch(space string, a Arch) string {
	return fmt.Sprintf("spaces: %s space given an arch of type %T (%v)", space, a, a)
}

// indexOf returns the position of s in list, or -1.
func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// pickOther draws a value in [0,n) other than cur; n must be at least 2.
func pickOther(rng *rand.Rand, n, cur int) int {
	v := rng.IntN(n - 1)
	if v >= cur {
		v++
	}
	return v
}

// Functional is a space whose archs may differ and yet compute the same function
// (NB201: an edge no path to the output uses). Function is a key two archs share
// exactly when they compute the same function.
type Functional interface {
	Function(a Arch) string
}

// FunctionOf is a's function key in space (unwrapped to its base), or its arch
// string where the space has no Functional form.
func FunctionOf(space Space, a Arch) string {
	if f, ok := Base(space).(Functional); ok {
		return f.Function(a)
	}
	return a.String()
}
