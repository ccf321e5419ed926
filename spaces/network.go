package spaces

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The choices of the network-level space (the seed's ranges).
var (
	NetworkBlocks     = []string{"conv", "bottleneck", "mbconv"}
	NetworkWidths     = []int{16, 32, 64, 128, 256, 512}
	NetworkKernels    = []int{3, 5, 7}
	NetworkExpansions = []int{1, 2, 4, 6}
)

const (
	minStages, maxStages = 3, 6
	minDepth, maxDepth   = 1, 10
)

// Stage is one stage of a network-level arch: Depth blocks of one type. The first
// block of every stage but the first has stride 2. Expansion applies to bottleneck
// (width / expansion inner channels) and mbconv (input x expansion hidden channels);
// a conv stage has expansion 1.
type Stage struct {
	Block     string
	Depth     int
	Width     int
	Kernel    int
	Expansion int
}

func (st Stage) String() string {
	return fmt.Sprintf("%s,d=%d,w=%d,k=%d,e=%d", st.Block, st.Depth, st.Width, st.Kernel, st.Expansion)
}

// NetworkArch is a stack of 3 to 6 stages, written |stage|stage|...|.
type NetworkArch struct{ s string } // canonical string; the Arch stays comparable

// NewNetworkArch builds an arch from its stages (no validation; see Network.Validate).
func NewNetworkArch(stages []Stage) NetworkArch {
	var sb strings.Builder
	sb.WriteByte('|')
	for _, st := range stages {
		sb.WriteString(st.String())
		sb.WriteByte('|')
	}
	return NetworkArch{sb.String()}
}

func (a NetworkArch) String() string { return a.s }

// Stages decodes the arch. The canonical string always parses.
func (a NetworkArch) Stages() []Stage {
	stages, err := parseStages(a.s)
	if err != nil {
		panic("spaces: corrupt network arch " + a.s + ": " + err.Error())
	}
	return stages
}

// NetworkOptions configure the network-level space.
type NetworkOptions struct {
	Options `yaml:",inline"`
	Stem    int `yaml:"stem"` // channels of the stem conv (32)
}

// DefaultNetwork is the network space on CIFAR-10 with a 32-channel stem.
var DefaultNetwork = NetworkOptions{Options: CIFAR, Stem: 32}

func init() {
	Define("network", "the whole network's stages: depth, width, kernel and stride of each", DefaultNetwork,
		func(o NetworkOptions) (Space, error) { return NewNetwork(o) })
}

// Network is the network-level space: the whole network's stage structure.
type Network struct{ opt NetworkOptions }

// NewNetwork checks the options and returns the space.
func NewNetwork(opt NetworkOptions) (*Network, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	if err := checkRange("network", "stem", opt.Stem, 1, maxChannels); err != nil {
		return nil, err
	}
	return &Network{opt: opt}, nil
}

func (s *Network) Name() string { return "network" }

func (s *Network) arch(a Arch) NetworkArch {
	x, ok := a.(NetworkArch)
	if !ok {
		panic(wrongArch("network", a))
	}
	return x
}

func sampleStage(rng *rand.Rand) Stage {
	st := Stage{
		Block:     NetworkBlocks[rng.IntN(len(NetworkBlocks))],
		Depth:     minDepth + rng.IntN(maxDepth-minDepth+1),
		Width:     NetworkWidths[rng.IntN(len(NetworkWidths))],
		Kernel:    NetworkKernels[rng.IntN(len(NetworkKernels))],
		Expansion: NetworkExpansions[rng.IntN(len(NetworkExpansions))],
	}
	if st.Block == "conv" {
		st.Expansion = 1
	}
	return st
}

func (s *Network) Sample(rng *rand.Rand) Arch {
	stages := make([]Stage, minStages+rng.IntN(maxStages-minStages+1))
	for i := range stages {
		stages[i] = sampleStage(rng)
	}
	return NewNetworkArch(stages)
}

// Mutate changes one stage's block, depth, width, kernel or expansion, or duplicates or
// removes a stage, and retries until the result differs from a.
func (s *Network) Mutate(a Arch, rng *rand.Rand) Arch {
	x := s.arch(a)
	for {
		stages := x.Stages()
		i := rng.IntN(len(stages))
		st := &stages[i]
		switch rng.IntN(7) {
		case 0:
			st.Block = NetworkBlocks[pickOther(rng, len(NetworkBlocks), indexOf(NetworkBlocks, st.Block))]
			if st.Block == "conv" {
				st.Expansion = 1
			}
		case 1:
			st.Depth = minDepth + pickOther(rng, maxDepth-minDepth+1, st.Depth-minDepth)
		case 2:
			st.Width = NetworkWidths[pickOther(rng, len(NetworkWidths), indexOfInt(NetworkWidths, st.Width))]
		case 3:
			st.Kernel = NetworkKernels[pickOther(rng, len(NetworkKernels), indexOfInt(NetworkKernels, st.Kernel))]
		case 4:
			if st.Block == "conv" {
				continue
			}
			st.Expansion = NetworkExpansions[pickOther(rng, len(NetworkExpansions), indexOfInt(NetworkExpansions, st.Expansion))]
		case 5:
			if len(stages) == maxStages {
				continue
			}
			// A new stage starts as a copy of its neighbour, as a network morphism would.
			stages = append(stages[:i+1], stages[i:]...)
		case 6:
			if len(stages) == minStages {
				continue
			}
			stages = append(stages[:i], stages[i+1:]...)
		}
		if y := NewNetworkArch(stages); y != x {
			return y
		}
	}
}

// Neighbours lists every result of Mutate: per stage, the other block types, depths,
// widths, kernels and expansions, its removal and a copy of it inserted after it.
func (s *Network) Neighbours(a Arch) []Arch {
	x := s.arch(a)
	base := x.Stages()
	var out []Arch
	seen := map[NetworkArch]bool{x: true}
	emit := func(stages []Stage) {
		y := NewNetworkArch(stages)
		if !seen[y] {
			seen[y] = true
			out = append(out, y)
		}
	}
	with := func(i int, f func(*Stage)) {
		stages := append([]Stage(nil), base...)
		f(&stages[i])
		emit(stages)
	}
	for i, st := range base {
		for _, blk := range NetworkBlocks {
			if blk != st.Block {
				with(i, func(t *Stage) {
					t.Block = blk
					if blk == "conv" {
						t.Expansion = 1
					}
				})
			}
		}
		for d := minDepth; d <= maxDepth; d++ {
			if d != st.Depth {
				with(i, func(t *Stage) { t.Depth = d })
			}
		}
		for _, w := range NetworkWidths {
			if w != st.Width {
				with(i, func(t *Stage) { t.Width = w })
			}
		}
		for _, k := range NetworkKernels {
			if k != st.Kernel {
				with(i, func(t *Stage) { t.Kernel = k })
			}
		}
		if st.Block != "conv" {
			for _, e := range NetworkExpansions {
				if e != st.Expansion {
					with(i, func(t *Stage) { t.Expansion = e })
				}
			}
		}
		if len(base) > minStages {
			emit(append(append([]Stage(nil), base[:i]...), base[i+1:]...))
		}
		if len(base) < maxStages {
			stages := append(append([]Stage(nil), base[:i+1]...), base[i:]...)
			emit(stages)
		}
	}
	return out
}

// networkStageWidth is the length of one stage's encoding: present, block one-hot,
// depth (scaled to 0..1), width one-hot, kernel one-hot, expansion one-hot.
var networkStageWidth = 1 + len(NetworkBlocks) + 1 + len(NetworkWidths) + len(NetworkKernels) + len(NetworkExpansions)

// Encode gives maxStages slots of networkStageWidth values; absent stages are zeros.
func (s *Network) Encode(a Arch) []float64 {
	v := make([]float64, maxStages*networkStageWidth)
	for i, st := range s.arch(a).Stages() {
		o := i * networkStageWidth
		v[o] = 1
		o++
		v[o+indexOf(NetworkBlocks, st.Block)] = 1
		o += len(NetworkBlocks)
		v[o] = float64(st.Depth-minDepth) / float64(maxDepth-minDepth)
		o++
		v[o+indexOfInt(NetworkWidths, st.Width)] = 1
		o += len(NetworkWidths)
		v[o+indexOfInt(NetworkKernels, st.Kernel)] = 1
		o += len(NetworkKernels)
		v[o+indexOfInt(NetworkExpansions, st.Expansion)] = 1
	}
	return v
}

func (s *Network) Parse(b []byte) (Arch, error) {
	stages, err := parseStages(string(b))
	if err != nil {
		return nil, err
	}
	return NewNetworkArch(stages), nil
}

// parseStages reads |block,d=D,w=W,k=K,e=E|... and checks every value against the
// space's choices, naming the token and its position on error.
func parseStages(str string) ([]Stage, error) {
	perr := func(pos int, tok, msg string) error {
		return &ParseError{Space: "network", Pos: pos, Token: tok, Msg: msg}
	}
	if len(str) < 2 || str[0] != '|' || str[len(str)-1] != '|' {
		return nil, perr(0, str, "expected |block,d=D,w=W,k=K,e=E|... (e.g. |conv,d=2,w=32,k=3,e=1|)")
	}
	var stages []Stage
	pos := 1
	for _, part := range strings.Split(str[1:len(str)-1], "|") {
		fields := strings.Split(part, ",")
		if len(fields) != 5 {
			return nil, perr(pos, part, "a stage has 5 fields: block,d=,w=,k=,e=")
		}
		st := Stage{Block: fields[0]}
		if indexOf(NetworkBlocks, st.Block) < 0 {
			return nil, perr(pos, st.Block, "unknown block; blocks are "+strings.Join(NetworkBlocks, ", "))
		}
		fpos := pos + len(fields[0]) + 1
		for fi, f := range []struct {
			key string
			dst *int
			ok  func(int) bool
			say string
		}{
			{"d", &st.Depth, func(v int) bool { return v >= minDepth && v <= maxDepth }, fmt.Sprintf("depth must be %d to %d", minDepth, maxDepth)},
			{"w", &st.Width, func(v int) bool { return indexOfInt(NetworkWidths, v) >= 0 }, fmt.Sprintf("width must be one of %v", NetworkWidths)},
			{"k", &st.Kernel, func(v int) bool { return indexOfInt(NetworkKernels, v) >= 0 }, fmt.Sprintf("kernel must be one of %v", NetworkKernels)},
			{"e", &st.Expansion, func(v int) bool { return indexOfInt(NetworkExpansions, v) >= 0 }, fmt.Sprintf("expansion must be one of %v", NetworkExpansions)},
		} {
			tok := fields[fi+1]
			key, val, ok := strings.Cut(tok, "=")
			if !ok || key != f.key {
				return nil, perr(fpos, tok, fmt.Sprintf("expected %s=<number> here", f.key))
			}
			n, err := strconv.Atoi(val)
			if err != nil || !f.ok(n) || strconv.Itoa(n) != val {
				return nil, perr(fpos+len(key)+1, val, f.say)
			}
			*f.dst = n
			fpos += len(tok) + 1
		}
		if st.Block == "conv" && st.Expansion != 1 {
			return nil, perr(fpos-len(fields[4])-1, fields[4], "a conv stage has no expansion; write e=1")
		}
		stages = append(stages, st)
		pos += len(part) + 1
	}
	if len(stages) < minStages || len(stages) > maxStages {
		return nil, perr(len(str), "", fmt.Sprintf("has %d stages; the space allows %d to %d", len(stages), minStages, maxStages))
	}
	return stages, nil
}

func (s *Network) Validate(a Arch) error {
	x, ok := a.(NetworkArch)
	if !ok {
		return fmt.Errorf("network: not a network arch: %T", a)
	}
	if _, err := parseStages(x.s); err != nil {
		return err
	}
	return nil
}

// Network builds a 3x3 stem conv (BN, ReLU), the stages, then global average pool and
// a linear classifier.
func (s *Network) Network(a Arch) (*Net, error) {
	if err := s.Validate(a); err != nil {
		return nil, err
	}
	return s.build(s.arch(a).Stages())
}

// build is Network for stages already checked.
func (s *Network) build(stages []Stage) (*Net, error) {
	b := newBuilder(s.opt.shape())
	x := b.conv("stem/conv", 0, s.opt.Stem, 3, 1, 1, 1)
	x = b.bn("stem/bn", x)
	x = b.relu("stem/relu", x)
	for i, st := range stages {
		for d := 0; d < st.Depth; d++ {
			stride := 1
			if i > 0 && d == 0 {
				stride = 2
			}
			name := fmt.Sprintf("stage%d/block%d", i, d)
			switch st.Block {
			case "conv":
				x = b.conv(name+"/conv", x, st.Width, st.Kernel, stride, 1, 1)
				x = b.bn(name+"/bn", x)
				x = b.relu(name+"/relu", x)
			case "bottleneck":
				x = bottleneck(b, name, x, st, stride)
			case "mbconv":
				x = mbconv(b, name, x, st, stride)
			}
		}
	}
	return b.finish(s.opt.head(b, x))
}

// bottleneck is ResNet's: 1x1 down to width/expansion (at least 8), kxk, 1x1 up to
// width, with an identity or projected shortcut, then ReLU.
func bottleneck(b *builder, name string, x int, st Stage, stride int) int {
	in := b.shape(x).C
	mid := max(st.Width/st.Expansion, 8)
	y := b.conv(name+"/reduce", x, mid, 1, 1, 1, 1)
	y = b.relu(name+"/reduce/relu", b.bn(name+"/reduce/bn", y))
	y = b.conv(name+"/conv", y, mid, st.Kernel, stride, 1, 1)
	y = b.relu(name+"/conv/relu", b.bn(name+"/conv/bn", y))
	y = b.conv(name+"/expand", y, st.Width, 1, 1, 1, 1)
	y = b.bn(name+"/expand/bn", y)
	sc := x
	if stride != 1 || in != st.Width {
		sc = b.conv(name+"/shortcut", x, st.Width, 1, stride, 1, 1)
		sc = b.bn(name+"/shortcut/bn", sc)
	}
	return b.relu(name+"/relu", b.sum(name+"/sum", []int{sc, y}))
}

// mbconv is MobileNetV2's inverted residual: 1x1 expansion (skipped at expansion 1),
// depthwise kxk, linear 1x1 projection, residual when the shape is kept.
func mbconv(b *builder, name string, x int, st Stage, stride int) int {
	in := b.shape(x).C
	hidden := in * st.Expansion
	y := x
	if st.Expansion != 1 {
		y = b.conv(name+"/expand", y, hidden, 1, 1, 1, 1)
		y = b.relu(name+"/expand/relu", b.bn(name+"/expand/bn", y))
	}
	y = b.conv(name+"/dw", y, hidden, st.Kernel, stride, 1, hidden)
	y = b.relu(name+"/dw/relu", b.bn(name+"/dw/bn", y))
	y = b.conv(name+"/project", y, st.Width, 1, 1, 1, 1)
	y = b.bn(name+"/project/bn", y)
	if stride == 1 && in == st.Width {
		return b.sum(name+"/sum", []int{x, y})
	}
	return y
}

func indexOfInt(list []int, v int) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}
