package bench

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"cellar/groundtruth"
	"cellar/spaces"
	"cellar/strategies"
)

// A bench darts CSV never panics its reader, and what it reads is written and read
// back the same (the time to the tenth of a second it is written with).
func FuzzDartsCSV(f *testing.F) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		f.Fatal(err)
	}
	settings := []string{"darts", "10", "1", "5000", "5000", "", "fashion-mnist", "30000", "8", "1", "3", "4"}
	head := strings.Join(DartsCSVHeader(), ",") + "\n"
	row := "1," + strings.Join(settings, ",") + ",|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|,0,86.19,1.0000,312.5\n"
	for _, seed := range []string{head, head + row, head + row + strings.Replace(row, "1,", "2,", 1), head + strings.Replace(row, "86.19", "1e300", 1),
		head + strings.Replace(row, "312.5", "1e300", 1), "arch,reference\n", ""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rows, err := ParseDartsCSV(in, "d.csv", sp, settings)
		if err != nil {
			return
		}
		b, err := FormatDartsCSV(settings, rows, []float64{50})
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseDartsCSV(b, "d.csv", sp, settings)
		if err != nil {
			t.Fatalf("written CSV does not read: %v\n%s", err, b)
		}
		if len(back) != len(rows) {
			t.Fatalf("%d seeds read back, %d written", len(back), len(rows))
		}
		for s, r := range rows {
			g := back[s]
			if g.Arch.String() != r.Arch.String() || g.Acc != r.Acc || math.Abs(g.Took.Seconds()-r.Took.Seconds()) > 0.05+1e-9*r.Took.Seconds() {
				t.Fatalf("seed %d read back as %+v, written as %+v", s, g, r)
			}
		}
	})
}

// A seed run with other settings is refused, naming the flag that differs and the
// line; a missing file holds no seed; a write reads back.
func TestDartsCSVKeepsOneExperiment(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "d.csv")
	if rows, err := ReadDartsCSV(path, sp, nil); err != nil || len(rows) != 0 {
		t.Fatalf("missing file: %v, %v", rows, err)
	}
	opt := strategies.DefaultDarts
	gt := groundtruth.Defaults
	settings := DartsSettings(DartsMethod(opt), opt, gt)
	a, err := sp.Parse([]byte("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int]DartsResult{3: {Arch: a, Acc: 88.5, Took: Seconds(12.5)}}
	if err := WriteDartsCSV(path, settings, rows, []float64{80, 90}); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDartsCSV(path, sp, settings)
	if err != nil || back[3].Acc != 88.5 || back[3].Skips() != 2 {
		t.Fatalf("read back %+v, %v", back, err)
	}
	opt.Epochs++
	_, err = ReadDartsCSV(path, sp, DartsSettings(DartsMethod(opt), opt, gt))
	if err == nil || !strings.Contains(err.Error(), "--epochs") || !strings.Contains(err.Error(), path) {
		t.Errorf("other epochs: %v, want an error naming --epochs and the file", err)
	}
	if got := BeatsShare([]float64{80, 85, 90, 95}, 88); got != 0.5 {
		t.Errorf("88 beats %v of 80, 85, 90, 95; want 0.5", got)
	}
}
