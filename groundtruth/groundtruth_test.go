package groundtruth

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"cellar/evaluators"
	"cellar/spaces"
)

// table is a synthetic NB201 table of 60 archs whose accuracy is their index.
func table(t *testing.T) (spaces.Space, *evaluators.Table) {
	t.Helper()
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("arch,acc\n")
	ops := []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
	for i := range 60 {
		fmt.Fprintf(&b, "|%s~0|+|%s~0|%s~1|+|none~0|none~1|none~2|,%d\n", ops[i%5], ops[i/5%5], ops[i/25%5], i)
	}
	tab, err := evaluators.ReadTable(strings.NewReader(b.String()), "synthetic", sp, "")
	if err != nil {
		t.Fatal(err)
	}
	return sp, tab
}

// One arch from each of n equal runs of the sorted table: the i-th pick's accuracy
// lies in the i-th run, and a seed gives one sample.
func TestStratified(t *testing.T) {
	sp, tab := table(t)
	rows, err := Stratified(sp, tab, 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if r.Reference < float64(i*10) || r.Reference >= float64(i*10+10) {
			t.Errorf("pick %d has accuracy %v, outside its run [%d, %d)", i, r.Reference, i*10, i*10+10)
		}
	}
	again, _ := Stratified(sp, tab, 6, 1)
	other, _ := Stratified(sp, tab, 6, 2)
	if !slices.EqualFunc(rows, again, func(a, b Row) bool { return a.Arch == b.Arch }) {
		t.Error("one seed gave two samples")
	}
	if slices.EqualFunc(rows, other, func(a, b Row) bool { return a.Arch == b.Arch }) {
		t.Error("seeds 1 and 2 gave the same sample")
	}
	if _, err := Stratified(sp, tab, 61, 1); err == nil || !strings.Contains(err.Error(), "60") {
		t.Errorf("more archs than the table has: %v", err)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rows := []Row{{Arch: "a", Reference: 91.5, Acc: []float64{80.25, 81.5}, Params: 1200}, {Arch: "b", Reference: 60, Acc: []float64{70}, Params: 300}, {Arch: "c", Reference: 10, Params: 7}}
	var buf bytes.Buffer
	if err := Write(&buf, rows, 2); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "arch,reference,accuracy,params,seed1,seed2\na,91.5,80.875,1200,80.25,81.5\n") {
		t.Errorf("csv:\n%s", buf.String())
	}
	back, err := Read(&buf, "gt.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if back[i].Arch != rows[i].Arch || back[i].Params != rows[i].Params || !slices.Equal(back[i].Acc, rows[i].Acc) || back[i].Reference != rows[i].Reference {
			t.Errorf("row %d: %+v, wrote %+v", i, back[i], rows[i])
		}
	}
	// A table continued with fewer seeds than it holds keeps them all.
	buf.Reset()
	rows[1].Acc = []float64{70, 71, 72, 73}
	if err := Write(&buf, rows, 2); err != nil {
		t.Fatal(err)
	}
	if back, err = Read(&buf, "gt.csv"); err != nil || !slices.Equal(back[1].Acc, rows[1].Acc) || !slices.Equal(back[0].Acc, rows[0].Acc) || back[1].Mean() != 71.5 {
		t.Errorf("four seeds written with seeds 2: %+v, %v", back, err)
	}
	for _, bad := range []struct{ csv, want string }{
		{"arch,acc\n", "line 1"},
		{"arch,reference,accuracy,params,seed1,seed2\na,x,1,2,3,4\n", "line 2: reference"},
		{"arch,reference,accuracy,params,seed1,seed2\na,1,1,2,3,4\nb,1,1,2,300,4\n", "line 3: seed 1"},
		{"arch,reference,accuracy,params,seed1\na,NaN,1,2,3\n", `line 2: reference "NaN"`},
		{"arch,reference,accuracy,params,seed1\na,-Inf,1,2,3\n", `line 2: reference "-Inf"`},
		{"arch,reference,accuracy,params,seed1\na,1,1,-2,3\n", `line 2: params "-2"`},
	} {
		if _, err := Read(strings.NewReader(bad.csv), "gt.csv"); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want an error naming %q", bad.csv, err, bad.want)
		}
	}
}

func TestAgree(t *testing.T) {
	rows := []Row{{Arch: "a", Acc: []float64{50, 52}}, {Arch: "b", Acc: []float64{60, 61}}, {Arch: "c", Acc: []float64{70, 69}}, {Arch: "d", Acc: []float64{80, 80}}}
	ag, err := Agree(rows)
	if err != nil {
		t.Fatal(err)
	}
	// means 51, 60.5, 69.5, 80: gaps 9.5 18.5 29 9 19.5 10.5, median 14.5; seed gaps 2 1 1 0.
	if ag.SeedKendall != 1 || ag.SeedGap != 1 || math.Abs(ag.ArchGap-14.5) > 1e-9 {
		t.Errorf("%+v", ag)
	}
	rows[2].Acc = []float64{70, 50} // seed 2 now ranks c first
	if ag, _ = Agree(rows); ag.SeedKendall >= 1 {
		t.Errorf("a swapped arch left Kendall at %v", ag.SeedKendall)
	}
	// A table being built: rows without two seeds are left out.
	partial := append(rows[:4:4], Row{Arch: "e", Acc: []float64{90}}, Row{Arch: "f"})
	if ag2, err := Agree(partial); err != nil || !reflect.DeepEqual(ag2, ag) || ag2.N != 4 || ag2.HalfN != 0 {
		t.Errorf("partial table: %+v, %v; want %+v", ag2, err, ag)
	}
	if _, err := Agree([]Row{{Arch: "a", Acc: []float64{1}}, {Arch: "b", Acc: []float64{1, 2}}}); err == nil {
		t.Error("agreement of one arch with two seeds")
	}
}

// A table of four seeds an arch is judged by how its two 2-seed means agree: here
// they rank a, b, c alike, though single seeds disagree.
func TestAgreeHalves(t *testing.T) {
	rows := []Row{
		{Arch: "a", Acc: []float64{50, 56, 56, 50}}, // halves 53, 53
		{Arch: "b", Acc: []float64{58, 52, 52, 58}}, // 55, 55
		{Arch: "c", Acc: []float64{57, 57, 57, 57}}, // 57, 57
		{Arch: "d", Acc: []float64{90, 91}},         // being built: in N, not in the halves
		{Arch: "e"},
	}
	ag, err := Agree(rows)
	if err != nil {
		t.Fatal(err)
	}
	third := -1.0 / 3
	want := []SeedPair{{1, 2, third}, {1, 3, third}, {1, 4, 1}, {2, 3, 1}, {2, 4, third}, {3, 4, third}}
	if ag.N != 4 || ag.HalfN != 3 || ag.HalfSeeds != 2 || ag.HalfKendall != 1 || len(ag.Pairs) != len(want) {
		t.Fatalf("%+v", ag)
	}
	for i, w := range want {
		if p := ag.Pairs[i]; p.A != w.A || p.B != w.B || math.Abs(p.Kendall-w.Kendall) > 1e-12 {
			t.Errorf("pair %d: %+v, want %+v", i, p, w)
		}
	}
	rows[2].Acc[3] = 40 // c's second half now 48.5: last, where its first half is first
	if ag, _ = Agree(rows); ag.HalfKendall >= 1 {
		t.Errorf("c's halves disagree, yet Kendall %v", ag.HalfKendall)
	}
	// Separated pairs: a and c are 1 point apart, within twice the standard error of
	// their difference (each arch's seeds have sample variance 4/3: 2 x sqrt(2/3) =
	// 1.63); b is 9 and 10 points from them.
	sep := []Row{{Arch: "a", Acc: []float64{50, 52, 50, 52}}, {Arch: "b", Acc: []float64{60, 62, 60, 62}}, {Arch: "c", Acc: []float64{51, 53, 51, 53}}}
	if ag, err := Agree(sep); err != nil || math.Abs(ag.Separated-2.0/3) > 1e-12 || math.Abs(ag.SeedSD-math.Sqrt(4.0/3)) > 1e-12 {
		t.Errorf("separated %v, seed SD %v (%v); want 2/3 and %v", ag.Separated, ag.SeedSD, err, math.Sqrt(4.0/3))
	}
	sep[2].Acc = []float64{53, 55, 53, 55} // now 3 points from a: separated too
	if ag, _ := Agree(sep); ag.Separated != 1 {
		t.Errorf("separated %v, want 1", ag.Separated)
	}
	// Three seeds make no halves; nor does one arch with four.
	three := []Row{{Arch: "a", Acc: []float64{1, 2, 3}}, {Arch: "b", Acc: []float64{4, 5, 6}}, {Arch: "c", Acc: []float64{7, 8, 9, 10}}}
	if ag, err := Agree(three); err != nil || ag.HalfN != 0 || ag.Pairs != nil {
		t.Errorf("%+v, %v", ag, err)
	}
}

// Training is real and deterministic: one arch and seed give one accuracy, and Fill
// trains only the seeds a row lacks.
func TestFillTrains(t *testing.T) {
	opt := Defaults
	opt.Dataset, opt.Train, opt.Val, opt.Channels, opt.Epochs = "mnist", 2048, 256, 4, 2
	b, err := NewBuilder(opt)
	if err != nil {
		t.Fatal(err)
	}
	arch := "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
	r := Row{Arch: arch}
	if err := b.Fill(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Acc) != 2 || r.Params == 0 {
		t.Fatalf("%+v", r)
	}
	for _, a := range r.Acc {
		if !(a > 10 && a <= 100) { // ten classes: a trained network beats chance
			t.Errorf("accuracy %v", a)
		}
	}
	again := Row{Arch: arch, Acc: r.Acc[:1:1]}
	if err := b.Fill(context.Background(), &again); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.Acc, r.Acc) {
		t.Errorf("seed 2 trained again gave %v, first %v", again.Acc, r.Acc)
	}
	opt.Seeds = 0
	if _, err := NewBuilder(opt); err == nil {
		t.Error("zero seeds accepted")
	}
}

// Every row once, and any prefix spread over the range: the first 2^k rows trained
// fall one in each 2^k-th of it.
func TestFillOrder(t *testing.T) {
	for _, n := range []int{1, 2, 7, 150} {
		order := FillOrder(n)
		got := slices.Sorted(slices.Values(order))
		for i, v := range got {
			if v != i || len(got) != n {
				t.Fatalf("n %d: order %v is not a permutation", n, order)
			}
		}
	}
	order := FillOrder(150)
	for _, k := range []int{2, 4, 8, 16} {
		seen := map[int]bool{}
		for _, i := range order[:k] {
			seen[i*k/150] = true
		}
		if len(seen) != k {
			t.Errorf("first %d rows %v are not one in each %d-th", k, order[:k], k)
		}
	}
}

// Read never panics, and what it reads is written and read back the same: a damaged
// table is an error, never a table that changes when it is saved.
func FuzzRead(f *testing.F) {
	for _, seed := range []string{
		"arch,reference,accuracy,params,seed1,seed2\na,91.5,80.875,1200,80.25,81.5\nb,60,70,300,70,\n",
		"arch,reference,accuracy,params,seed1,seed2,seed3,seed4\n\"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\",10,9.34,20050,9.34,9.34,9.34,9.34\n",
		"arch,reference,accuracy,params,seed1\na,NaN,1,2,3\n",
		"arch,reference,accuracy,params,seed1\na,1,1,-2,3\n",
		"arch,acc\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := Read(strings.NewReader(in), "gt.csv")
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, rows, 1); err != nil { // the CLI writes at least one seed column
			t.Fatal(err)
		}
		back, err := Read(bytes.NewReader(buf.Bytes()), "gt.csv")
		if err != nil {
			t.Fatalf("written table does not read: %v\n%s", err, buf.String())
		}
		if len(back) != len(rows) {
			t.Fatalf("%d rows read back, %d written", len(back), len(rows))
		}
		for i := range rows {
			if back[i].Arch != rows[i].Arch || back[i].Reference != rows[i].Reference || back[i].Params != rows[i].Params || !slices.Equal(back[i].Acc, rows[i].Acc) {
				t.Fatalf("row %d read back as %+v, written as %+v", i+1, back[i], rows[i])
			}
		}
	})
}
