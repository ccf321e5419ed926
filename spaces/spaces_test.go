package spaces

import (
	"encoding/csv"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"cellar/internal/refdata"
)

func mustNB201(t testing.TB, opt NB201Options) *NB201 {
	t.Helper()
	s, err := NewNB201(opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func allSpaces(t testing.TB) []Space {
	t.Helper()
	c, err := NewCell(DefaultCell)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNetwork(DefaultNetwork)
	if err != nil {
		t.Fatal(err)
	}
	return []Space{mustNB201(t, DefaultNB201), c, n}
}

func TestNB201ParamsMatchBenchmark(t *testing.T) {
	s := mustNB201(t, DefaultNB201)
	for _, tc := range []struct {
		arch   string
		params int
	}{
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 1531546},
		{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 73306},
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", 1073466},
	} {
		a, err := s.Parse([]byte(tc.arch))
		if err != nil {
			t.Fatal(err)
		}
		net, err := s.Network(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := net.Params(); got != tc.params {
			t.Errorf("%s: %d params, want %d", tc.arch, got, tc.params)
		}
		if out := net.Layers[net.Output].Shape; out != (Shape{10, 1, 1}) {
			t.Errorf("%s: output shape %v", tc.arch, out)
		}
	}
}

func TestNB201FLOPsOrder(t *testing.T) {
	// NB201 reports about 220 MFLOPs (multiply-adds) for the all-3x3 cell on CIFAR-10
	// and about 7.8 MFLOPs for the all-none cell; our count includes pools, so allow a
	// little above.
	s := mustNB201(t, DefaultNB201)
	for _, tc := range []struct {
		arch     string
		min, max int64
	}{
		{"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", 215e6, 225e6},
		{"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 7e6, 9e6},
	} {
		a, _ := s.Parse([]byte(tc.arch))
		net, _ := s.Network(a)
		if f := net.FLOPs(); f < tc.min || f > tc.max {
			t.Errorf("%s: %d FLOPs, want %d..%d", tc.arch, f, tc.min, tc.max)
		}
	}
}

func readNB201Archs(t *testing.T) []string {
	path := refdata.Require(t, refdata.NB201CIFAR10)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var archs []string
	for _, r := range rows[1:] {
		archs = append(archs, r[0])
	}
	return archs
}

func TestNB201RoundTripsAndSampleCoversTable(t *testing.T) {
	archs := readNB201Archs(t)
	if len(archs) != 15625 {
		t.Fatalf("table has %d archs, want 15625", len(archs))
	}
	s := mustNB201(t, DefaultNB201)
	table := map[string]bool{}
	for _, str := range archs {
		a, err := s.Parse([]byte(str))
		if err != nil {
			t.Fatalf("parse %q: %v", str, err)
		}
		if a.String() != str {
			t.Fatalf("round trip: %q became %q", str, a.String())
		}
		table[str] = true
	}
	// 400,000 draws miss one of 15,625 equally likely archs with probability ~1e-7.
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for i := 0; i < 400000; i++ {
		a := s.Sample(rng).String()
		if !table[a] {
			t.Fatalf("sampled %q, which is not in the table", a)
		}
		seen[a] = true
	}
	if len(seen) != len(table) {
		t.Fatalf("400000 samples covered %d of %d archs", len(seen), len(table))
	}
}

func TestParseErrorsNameTokenAndPosition(t *testing.T) {
	nb := mustNB201(t, DefaultNB201)
	sp := allSpaces(t)
	cell, network := sp[1], sp[2]
	for _, tc := range []struct {
		space Space
		in    string
		token string
		pos   int
		say   string
	}{
		{nb, "|nor_conv_3x3~0|+|bad_op~0|none~1|+|none~0|none~1|none~2|", "bad_op", 18, "unknown op"},
		{nb, "|none~0|+|none~0|none~1|+|none~0|none~1|", "", 40, "node 3 has 2 edges"},
		{nb, "|none~0|+|none~0|none~1|", "", 24, "has 2 nodes"},
		{nb, "|none~0|+|none~1|none~1|+|none~0|none~1|none~2|", "1", 15, "must come from node 0"},
		{nb, "|none~x|+|none~0|none~1|+|none~0|none~1|none~2|", "x", 6, "node number"},
		{nb, "|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "none0", 1, "op~input"},
		{nb, "", "", 0, "empty"},
		{cell, "normal=|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~2|+|conv_3x3~0|conv_3x3~3|+|conv_3x3~0|conv_7x7~4|;reduce=|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~2|+|conv_3x3~0|conv_3x3~3|+|conv_3x3~0|conv_3x3~4|", "conv_7x7", 91, "unknown op"},
		{cell, "normal=|conv_3x3~0|conv_3x3~2|+|conv_3x3~0|conv_3x3~2|+|conv_3x3~0|conv_3x3~3|+|conv_3x3~0|conv_3x3~4|;reduce=|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~2|+|conv_3x3~0|conv_3x3~3|+|conv_3x3~0|conv_3x3~4|", "2", 28, "inputs 0..1"},
		{cell, "normal=|conv_3x3~0|conv_3x3~1|", "", 0, "two cells"},
		{cell, "normal=|conv_3x3~0|conv_3x3~1|;reduce=|conv_3x3~0|conv_3x3~1|", "normal", 0, "has 1 nodes"},
		{cell, "normal=|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~2|+|conv_3x3~0|conv_3x3~3|+|conv_3x3~0|conv_3x3~4|;reduc=|x~0|", "reduc", 103, "expected \"reduce=\""},
		{network, "|conv,d=2,w=32,k=3,e=1|mbconv,d=3,w=64,k=4,e=6|conv,d=1,w=16,k=3,e=1|", "4", 41, "kernel must be"},
		{network, "|conv,d=2,w=32,k=3,e=1|transformer,d=3,w=64,k=3,e=6|conv,d=1,w=16,k=3,e=1|", "transformer", 23, "unknown block"},
		{network, "|conv,d=2,w=32,k=3,e=1|conv,d=1,w=16,k=3,e=1|", "", 45, "has 2 stages"},
		{network, "|conv,d=2,w=32,k=3,e=4|conv,d=1,w=16,k=3,e=1|conv,d=1,w=16,k=3,e=1|", "e=4", 19, "no expansion"},
		{network, "|conv,d=11,w=32,k=3,e=1|conv,d=1,w=16,k=3,e=1|conv,d=1,w=16,k=3,e=1|", "11", 8, "depth must be"},
		{network, "conv,d=1", "conv,d=1", 0, "expected |block"},
	} {
		_, err := tc.space.Parse([]byte(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s %q: error %v, want a ParseError", tc.space.Name(), tc.in, err)
			continue
		}
		if pe.Token != tc.token || pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.say) {
			t.Errorf("%s %q:\n got token %q at %d: %s\nwant token %q at %d: ...%s...", tc.space.Name(), tc.in, pe.Token, pe.Pos, pe.Msg, tc.token, tc.pos, tc.say)
		}
		if tc.token != "" && !strings.HasPrefix(tc.in[pe.Pos:], tc.token) {
			t.Errorf("%s %q: position %d does not point at %q", tc.space.Name(), tc.in, pe.Pos, tc.token)
		}
	}
}

// TestSpaceContract checks, for every space, what the Space interface promises.
func TestSpaceContract(t *testing.T) {
	for _, s := range allSpaces(t) {
		t.Run(s.Name(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 7))
			encLen := -1
			for i := 0; i < 200; i++ {
				a := s.Sample(rng)
				if err := s.Validate(a); err != nil {
					t.Fatalf("sample %v invalid: %v", a, err)
				}
				b, err := s.Parse([]byte(a.String()))
				if err != nil || b != a {
					t.Fatalf("round trip %v: %v, %v", a, b, err)
				}
				m := s.Mutate(a, rng)
				if m == a {
					t.Fatalf("mutate returned the parent %v", a)
				}
				if err := s.Validate(m); err != nil {
					t.Fatalf("mutant %v invalid: %v", m, err)
				}
				enc := s.Encode(a)
				if encLen >= 0 && len(enc) != encLen {
					t.Fatalf("encode length %d, earlier %d", len(enc), encLen)
				}
				encLen = len(enc)
				if i%20 == 0 {
					ns := s.Neighbours(a)
					if len(ns) == 0 {
						t.Fatalf("%v has no neighbours", a)
					}
					seen := map[Arch]bool{}
					for _, n := range ns {
						if n == a || seen[n] {
							t.Fatalf("neighbour %v repeats or equals %v", n, a)
						}
						seen[n] = true
						if err := s.Validate(n); err != nil {
							t.Fatalf("neighbour %v invalid: %v", n, err)
						}
					}
					// A mutation is one step: it is among the neighbours.
					if !seen[m] {
						t.Fatalf("mutant %v of %v is not a neighbour", m, a)
					}
				}
				net, err := s.Network(a)
				if err != nil {
					t.Fatalf("network of %v: %v", a, err)
				}
				if net.Params() <= 0 || net.FLOPs() <= 0 {
					t.Fatalf("%v: %d params, %d FLOPs", a, net.Params(), net.FLOPs())
				}
				if out := net.Layers[net.Output].Shape; out != (Shape{10, 1, 1}) {
					t.Fatalf("%v: output %v", a, out)
				}
				for _, l := range net.Layers {
					for _, in := range l.Inputs {
						if in >= l.ID {
							t.Fatalf("layer %d (%s) reads later layer %d", l.ID, l.Name, in)
						}
					}
				}
			}
		})
	}
}

func TestNetworksBuildOnMNISTShape(t *testing.T) {
	mnist := Options{Input: [3]int{1, 28, 28}, Classes: 10}
	nb := mustNB201(t, NB201Options{Options: mnist, Channels: 16, Cells: 5})
	c, _ := NewCell(CellOptions{Options: mnist, Nodes: 4, Layers: 8, Channels: 16})
	n, _ := NewNetwork(NetworkOptions{Options: mnist, Stem: 32})
	rng := rand.New(rand.NewPCG(3, 3))
	for _, s := range []Space{nb, c, n} {
		for i := 0; i < 50; i++ {
			a := s.Sample(rng)
			if _, err := s.Network(a); err != nil {
				t.Fatalf("%s %v: %v", s.Name(), a, err)
			}
		}
	}
}

func TestCellNetworkStructure(t *testing.T) {
	c, _ := NewCell(DefaultCell)
	a, err := c.Parse([]byte("normal=|sep_conv_3x3~0|skip_connect~1|+|dilated_conv_3x3~0|none~2|+|conv_5x5~1|max_pool_3x3~3|+|identity~0|avg_pool_3x3~4|;reduce=|skip_connect~0|identity~1|+|sep_conv_5x5~0|conv_3x3~2|+|avg_pool_3x3~1|max_pool_3x3~0|+|none~0|none~1|"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := c.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	// Two reductions halve 32x32 twice; the last cell concatenates 4 nodes of 4*16 channels.
	var lastConcat Layer
	reductions := 0
	for _, l := range net.Layers {
		if l.Kind == Concat {
			lastConcat = l
		}
		if l.Kind == FactReduce && strings.Contains(l.Name, "/factreduce") && !strings.Contains(l.Name, "pre0") {
			reductions++
		}
	}
	if lastConcat.Shape != (Shape{4 * 64, 8, 8}) {
		t.Errorf("last cell output %v, want 256x8x8", lastConcat.Shape)
	}
	// skip_connect~0 in the reduce cell becomes a factorized reduction, in both reduction cells.
	if reductions != 2 {
		t.Errorf("%d factorized skip reductions, want 2", reductions)
	}
}

func TestNetworkSpaceHandComputedParams(t *testing.T) {
	opt := NetworkOptions{Options: Options{Input: [3]int{3, 8, 8}, Classes: 10}, Stem: 16}
	s, _ := NewNetwork(opt)
	a, err := s.Parse([]byte("|conv,d=1,w=16,k=3,e=1|conv,d=1,w=32,k=3,e=1|mbconv,d=1,w=32,k=3,e=1|"))
	if err != nil {
		t.Fatal(err)
	}
	net, err := s.Network(a)
	if err != nil {
		t.Fatal(err)
	}
	want := 3*16*9 + 32 + // stem conv + bn
		16*16*9 + 32 + // stage 0 conv
		16*32*9 + 64 + // stage 1 conv, stride 2
		32*9 + 64 + 32*32 + 64 + // stage 2 mbconv e=1: depthwise + bn, project + bn (no residual: stride 2)
		32*10 + 10 // head
	if got := net.Params(); got != want {
		t.Errorf("params %d, want %d", got, want)
	}
	if out := net.Layers[net.Output-2].Shape; out != (Shape{32, 2, 2}) {
		t.Errorf("last feature map %v, want 32x2x2", out)
	}
}

func TestOptionsRejected(t *testing.T) {
	if _, err := NewNB201(NB201Options{Options: CIFAR, Channels: 0, Cells: 5}); err == nil {
		t.Error("nb201 with 0 channels accepted")
	}
	if _, err := NewCell(CellOptions{Options: Options{Input: [3]int{3, 0, 32}, Classes: 10}, Nodes: 4, Layers: 8, Channels: 16}); err == nil {
		t.Error("cell with 0 height accepted")
	}
	if _, err := NewNetwork(NetworkOptions{Options: Options{Input: [3]int{3, 32, 32}}, Stem: 32}); err == nil {
		t.Error("network with 0 classes accepted")
	}
}

func fuzzParse(f *testing.F, s Space, seeds []string) {
	for _, x := range seeds {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := s.Parse([]byte(in))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Pos < 0 || pe.Pos > len(in) {
				t.Fatalf("%q: bad error %v", in, err)
			}
			return
		}
		if err := s.Validate(a); err != nil {
			t.Fatalf("%q parsed but invalid: %v", in, err)
		}
		b, err := s.Parse([]byte(a.String()))
		if err != nil || b != a {
			t.Fatalf("%q: canonical form %q does not round-trip: %v", in, a.String(), err)
		}
	})
}

func FuzzNB201Parse(f *testing.F) {
	fuzzParse(f, mustNB201(f, DefaultNB201), []string{
		"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
		"|none~0|+|none~0|none~1|", "||", "+", "|a~-1|",
	})
}

func FuzzCellParse(f *testing.F) {
	c, _ := NewCell(DefaultCell)
	fuzzParse(f, c, []string{
		"normal=|sep_conv_3x3~0|skip_connect~1|+|dilated_conv_3x3~0|none~2|+|conv_5x5~1|max_pool_3x3~3|+|identity~0|avg_pool_3x3~4|;reduce=|skip_connect~0|identity~1|+|sep_conv_5x5~0|conv_3x3~2|+|avg_pool_3x3~1|max_pool_3x3~0|+|none~0|none~1|",
		"normal=;reduce=", ";", "normal=|x~0|",
	})
}

func FuzzNetworkParse(f *testing.F) {
	n, _ := NewNetwork(DefaultNetwork)
	fuzzParse(f, n, []string{
		"|conv,d=2,w=32,k=3,e=1|mbconv,d=3,w=64,k=5,e=6|bottleneck,d=1,w=16,k=7,e=4|",
		"||", "|conv|", "|conv,d=01,w=32,k=3,e=1|",
	})
}

// Tokens round-trip for every tokenized space, and bad tokens are refused.
func TestTokens(t *testing.T) {
	nb, _ := NewNB201(DefaultNB201)
	cell, _ := NewCell(DefaultCell)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, s := range []interface {
		Space
		Tokenizer
	}{nb, cell} {
		for range 200 {
			a := s.Sample(rng)
			back, err := s.FromTokens(s.Tokens(a))
			if err != nil || back.String() != a.String() {
				t.Fatalf("%s: %s came back as %v (%v)", s.Name(), a, back, err)
			}
		}
		sizes := s.TokenSizes()
		bad := make([]int, len(sizes))
		bad[len(bad)-1] = sizes[len(sizes)-1]
		if _, err := s.FromTokens(bad); err == nil {
			t.Errorf("%s: an out-of-range token was accepted", s.Name())
		}
		if _, err := s.FromTokens(bad[:1]); err == nil {
			t.Errorf("%s: a short sequence was accepted", s.Name())
		}
	}
}
