package tui

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/NimbleMarkets/ntcharts/canvas"

	"cellar/engine"
	"cellar/spaces"
	"cellar/themes"
)

func TestParetoFront(t *testing.T) {
	// Y is accuracy (maximised), X is params (minimised).
	pts := []canvas.Float64Point{{X: 10, Y: 90}, {X: 20, Y: 95}, {X: 30, Y: 94}, {X: 5, Y: 80}, {X: 20, Y: 93}, {X: 10, Y: 90}}
	got := paretoFront(pts, true, false)
	want := []bool{true, true, false, true, false, true} // (30,94) and (20,93) are dominated by (20,95); equal points both stay
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %v: on the front %v, want %v", pts[i], got[i], want[i])
		}
	}
}

func TestArchDiagrams(t *testing.T) {
	c := &Common{Styles: themes.Dark.For(plain())}
	nb, _ := spaces.NewNB201(spaces.DefaultNB201)
	cell, _ := spaces.NewCell(spaces.DefaultCell)
	net, _ := spaces.NewNetwork(spaces.DefaultNetwork)
	scaled, _ := spaces.NewScaled(nb)
	for _, tc := range []struct {
		space spaces.Space
		arch  string
		want  []string
	}{
		{nb, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
			[]string{
				"[0]    [1]    [2]    [3]",
				" ├conv3─┤      │      │",
				" ├conv3─┼conv3─┤      │",
				" └skip──┴conv3─┴conv1─┘"}},
		{nb, "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|skip_connect~2|", // node 2 has no input
			[]string{
				" ├conv3─┘      │      │",
				" │             ╳      │",
				" └conv3────────┴skip──┘"}},
		{cell, "normal=|sep_conv_3x3~0|skip_connect~1|+|dilated_conv_3x3~0|none~2|+|conv_5x5~1|max_pool_3x3~3|+|identity~0|avg_pool_3x3~4|;reduce=|skip_connect~0|identity~1|+|sep_conv_5x5~0|conv_3x3~2|+|avg_pool_3x3~1|max_pool_3x3~0|+|none~0|none~1|",
			[]string{
				"normal cell                              reduction cell",
				" ├sep3──┼skip──┘      │      │      │     ├skip──┼id────┤      │      │      │",
				" ├dil3──┼─────────────┤      │      │     ├sep5──┼──────┴conv3─┘      │      │",
				" │      └conv5────────┴max3──┤      │     └max3──┴avg3────────────────┘      │",
				" └id─────────────────────────┴avg3──┘                                        ╳",
				"output: concat of nodes 2-5"}},
		{scaled, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|@alpha=1.2,beta=1.1,gamma=1.15,phi=2",
			[]string{
				"scaled: depth ×1.44  width ×1.21  resolution ×1.32  (α 1.2 β 1.1 γ 1.15 φ 2)",
				" └skip──┴conv3─┴conv1─┘"}},
		{net, "|conv,d=2,w=32,k=3,e=1|mbconv,d=3,w=64,k=5,e=6|bottleneck,d=1,w=16,k=7,e=4|",
			[]string{"stage 1  mbconv ×3  width 64  k5  e6"}},
	} {
		d := archDiagram(c, "Architecture", tc.space, tc.arch, 100)
		for _, w := range tc.want {
			if !strings.Contains(d, w) {
				t.Errorf("%s diagram lacks %q:\n%s", tc.space.Name(), w, d)
			}
		}
	}
	// Too narrow for a DAG: edge lists.
	narrow := archDiagram(c, "Architecture", nb, "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|", 20)
	if !strings.Contains(narrow, "node 1 ← 0 ─conv3x3→") {
		t.Errorf("narrow NB201 diagram is not an edge list:\n%s", narrow)
	}
	if d := archDiagram(c, "Architecture", nb, "|bad|", 80); !strings.Contains(d, "cannot draw") {
		t.Errorf("bad arch: %q", d)
	}
}

func TestChartsWithoutData(t *testing.T) {
	c := &Common{Styles: themes.Dark.For(plain())}
	obj := engine.Objective{Name: "acc", Direction: "max"}
	if s := rewardChart(c, obj, nil, nil, 40, 10); !strings.Contains(s, "no finished trials") {
		t.Errorf("empty reward chart: %q", s)
	}
	one := []point{{id: 1, v: 5, ok: true}}
	if s := rewardChart(c, obj, one, nil, 40, 10); !strings.Contains(s, "Reward: acc") {
		t.Errorf("one-point reward chart: %q", s)
	}
	if s := populationBars(c, obj, nil, one, 0, 40, 5); !strings.Contains(s, "Scores (1)") {
		t.Errorf("score distribution without a population: %q", s)
	}
}

// A steering change shows on the reward curve as a vertical line at the trial it
// applied from, named in the title.
func TestRewardChartMarksSteering(t *testing.T) {
	c := &Common{Styles: themes.Dark.For(plain())}
	obj := engine.Objective{Name: "acc", Direction: "max"}
	var pts []point
	for i := 1; i <= 40; i++ {
		pts = append(pts, point{id: uint64(i), v: float64(i % 7), ok: true})
	}
	plainChart := rewardChart(c, obj, pts, nil, 60, 12)
	marked := rewardChart(c, obj, pts, []uint64{20}, 60, 12)
	if !strings.Contains(marked, "steered at #20") {
		t.Errorf("no marker in the title:\n%s", marked)
	}
	// The marker is a column of vertical strokes the plain chart does not have.
	column := func(chart string) int {
		lines := strings.Split(chart, "\n")
		best := 0
		for col := 8; col < 60; col++ {
			n := 0
			for _, l := range lines {
				if r := []rune(l); col < len(r) && r[col] == '│' {
					n++
				}
			}
			best = max(best, n)
		}
		return best
	}
	if p, m := column(plainChart), column(marked); m < 5 || p >= m {
		t.Errorf("tallest vertical stroke off the axis: %d without the marker, %d with it\n%s", p, m, marked)
	}
}

// TestParetoFrontMatchesDefinition checks the sweep against the definition, pairwise,
// on random points with many ties, for every direction.
func TestParetoFrontMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 200; trial++ {
		pts := make([]canvas.Float64Point, 1+rng.IntN(40))
		for i := range pts {
			pts[i] = canvas.Float64Point{X: float64(rng.IntN(8)), Y: float64(rng.IntN(8))}
		}
		for _, dir := range [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}} {
			got := paretoFront(pts, dir[0], dir[1])
			for i, p := range pts {
				dominated := false
				for j, q := range pts {
					if i == j {
						continue
					}
					by, bx := q.Y > p.Y, q.X > p.X
					if !dir[0] {
						by = q.Y < p.Y
					}
					if !dir[1] {
						bx = q.X < p.X
					}
					if (by || q.Y == p.Y) && (bx || q.X == p.X) && (by || bx) {
						dominated = true
					}
				}
				if got[i] == dominated {
					t.Fatalf("points %v, maxY %v maxX %v: point %v front=%v, dominated=%v", pts, dir[0], dir[1], p, got[i], dominated)
				}
			}
			// The incremental front, point by point, ends where the sweep does.
			fs := frontSet{maxY: dir[0], maxX: dir[1]}
			for i := range pts {
				fs.add(pts, i)
			}
			inc := make([]bool, len(pts))
			for _, m := range fs.members {
				inc[m] = true
			}
			for i := range pts {
				if inc[i] != got[i] {
					t.Fatalf("points %v, maxY %v maxX %v: incremental front %v, sweep %v at %v", pts, dir[0], dir[1], inc, got, pts[i])
				}
			}
		}
	}
}

func TestTopK(t *testing.T) {
	vals := []float64{5, 1, 9, 3, 9, 7}
	if got := topK(vals, 3, true); fmt.Sprint(got) != "[2 4 5]" {
		t.Errorf("top 3 maximising: %v", got)
	}
	if got := topK(vals, 2, false); fmt.Sprint(got) != "[1 3]" {
		t.Errorf("top 2 minimising: %v", got)
	}
	if got := topK(vals, 10, true); len(got) != 6 {
		t.Errorf("k larger than the values: %v", got)
	}
}

func TestParseFilter(t *testing.T) {
	metrics := []string{"params", "val_accuracy"}
	for _, bad := range []string{"params", "params>", "state>done", "val_accuracy>high", ">3"} {
		if _, err := parseFilter(bad, metrics); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// A field the trials do not have is an error naming the fields they do.
	if _, err := parseFilter("val_acc>50", metrics); err == nil || !strings.Contains(err.Error(), "no field val_acc (fields: id, parent, seconds, state, origin, params, val_accuracy)") {
		t.Errorf("an unknown field: %v", err)
	}
	// Spaces around the comparison are fine.
	terms, err := parseFilter("val_accuracy >= 90 state != failed origin= hand id <10", metrics)
	if err != nil || len(terms) != 4 {
		t.Fatalf("%v, %v", terms, err)
	}
	tr := engine.Trial{ID: 3, State: engine.Done, Origin: "hand", Metrics: map[string]float64{"val_accuracy": 91}}
	if !matches(tr, terms) {
		t.Error("a matching trial was filtered out")
	}
	tr.Metrics["val_accuracy"] = 89
	if matches(tr, terms) {
		t.Error("val_accuracy 89 passed >=90")
	}
}

// The reference front for the tests: a sort and a sweep.
// paretoFront marks the points no other point dominates (at least as good in both
// coordinates, better in one), Y being maximised when maxY, X when maxX. It sorts by
// X, best first, and sweeps keeping the best Y so far: O(n log n).
func paretoFront(xy []canvas.Float64Point, maxY, maxX bool) []bool {
	// Orient both coordinates so that larger is better.
	sx, sy := 1.0, 1.0
	if !maxX {
		sx = -1
	}
	if !maxY {
		sy = -1
	}
	idx := make([]int, len(xy))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		a, b := xy[i], xy[j]
		switch {
		case a.X*sx != b.X*sx:
			return cmp.Compare(b.X*sx, a.X*sx)
		default:
			return cmp.Compare(b.Y*sy, a.Y*sy)
		}
	})
	front := make([]bool, len(xy))
	bestY := math.Inf(-1)
	for k := 0; k < len(idx); {
		// Points of equal X: each is on the front if its Y beats every point of larger
		// X and equals the group's best (a lower Y in the group is dominated).
		j := k
		for j < len(idx) && xy[idx[j]].X == xy[idx[k]].X {
			j++
		}
		groupBest := xy[idx[k]].Y * sy
		for _, i := range idx[k:j] {
			y := xy[i].Y * sy
			front[i] = y == groupBest && y > bestY
		}
		bestY = math.Max(bestY, groupBest)
		k = j
	}
	return front
}

// Trials finish out of id order when several run at once (and a session may join
// mid-search): the points stay in id order and the chart draws.
func TestDashboardTakesTrialsOutOfOrder(t *testing.T) {
	_, exp := finishedSearch(t)
	c := &Common{Theme: themes.Dark, Styles: themes.Dark.For(plain()), Keys: DefaultKeys(), Width: 100, Height: 30}
	d := NewDashboard(c, exp)
	obj := exp.Config.Objectives[0].Name
	for _, id := range []uint64{7, 5, 6, 9, 8, 10} {
		d.Apply([]engine.Event{{Kind: engine.TrialFinished, Trial: engine.Trial{ID: id, State: engine.Done, Metrics: map[string]float64{obj: float64(id)}}}})
	}
	for i := 1; i < len(d.points); i++ {
		if d.points[i-1].id >= d.points[i].id {
			t.Fatalf("points out of order: %+v", d.points)
		}
	}
	d.SetSize(0, 30)
	if v := d.View(); !strings.Contains(v, "Reward") {
		t.Errorf("dashboard:\n%s", v)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"val_accuracy>=90 state!=failed origin=hand id<10", "a=>5", "=5", "x<=-1e308 seconds>0", "state>1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := parseFilter(s, nil)
		if err != nil {
			return
		}
		// What parses, written back, parses to the same conditions; and every trial
		// can be matched against it.
		var words []string
		for _, c := range terms {
			words = append(words, c.field+c.op+c.value)
		}
		again, err := parseFilter(strings.Join(words, " "), nil)
		if err != nil || len(again) != len(terms) {
			t.Fatalf("%q parsed to %+v; written back it gives %+v, %v", s, terms, again, err)
		}
		for i := range terms {
			if again[i].field != terms[i].field || again[i].op != terms[i].op || again[i].value != terms[i].value {
				t.Fatalf("%q: condition %d is %+v, then %+v", s, i, terms[i], again[i])
			}
		}
		matches(engine.Trial{ID: 3, State: engine.Done, Origin: "hand", Metrics: map[string]float64{"val_accuracy": 91}}, terms)
	})
}

// An x label is a whole trial id.
func TestXLabel(t *testing.T) {
	if got := xLabel(0, 13.6); got != "14" {
		t.Errorf("x label of 13.6: %q", got)
	}
}

// Every space strings.Fields splits words on is a space around a comparison too,
// \v and the Unicode ones included (CI's fuzzer found "0=0\v!=0" read as two
// conditions, one on a field named "!").
func TestFilterSpacesAroundComparison(t *testing.T) {
	for _, sp := range []string{" ", "\t", "\v", "\f", "\u0085", "\u00a0", "\u2003", "\u3000"} {
		terms, err := parseFilter("val_accuracy"+sp+">="+sp+"90"+sp+"origin"+sp+"!="+sp+"hand", nil)
		if err != nil || len(terms) != 2 || terms[0].field != "val_accuracy" || terms[0].op != ">=" ||
			terms[1].field != "origin" || terms[1].op != "!=" || terms[1].value != "hand" {
			t.Errorf("space %q: %+v, %v", sp, terms, err)
		}
	}
}

// The unicode.IsSpace set and the filter's regexp class agree rune by rune.
func TestFilterSpaceClassIsUnicodeSpace(t *testing.T) {
	for r := rune(0); r <= 0x3000; r++ {
		word := "a" + string(r) + "=1"
		terms, err := parseFilter(word, nil)
		joined := err == nil && len(terms) == 1 && terms[0].field == "a"
		if strings.ContainsRune("<>!=", r) {
			continue // part of a comparison, not a space
		}
		if unicode.IsSpace(r) != joined {
			t.Errorf("rune %U: IsSpace %v, but %q parsed to %+v, %v", r, unicode.IsSpace(r), word, terms, err)
		}
	}
}
