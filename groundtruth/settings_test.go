package groundtruth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Settings are kept beside the CSV and read back as written; a table without them
// has none, and a damaged or foreign file is an error naming it.
func TestSettingsFile(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "gt.csv")
	if got := SettingsPath(csvPath); got != filepath.Join(dir, "gt.settings.json") {
		t.Errorf("SettingsPath: %s", got)
	}
	if got := SettingsPath("table"); got != "table.settings.json" {
		t.Errorf("SettingsPath without .csv: %s", got)
	}
	if s, err := LoadSettings(csvPath); s != nil || err != nil {
		t.Fatalf("no file: %v, %v", s, err)
	}
	opt := Defaults
	opt.Train, opt.Epochs, opt.LR = 30000, 3, 0.1
	want := SettingsOf(opt, "nb201", 150, 7)
	if err := SaveSettings(csvPath, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSettings(csvPath)
	if err != nil || got == nil || *got != want {
		t.Fatalf("read back %+v, %v; wrote %+v", got, err, want)
	}
	var back Options
	got.Apply(&back)
	back.Seeds, back.ProgressEvery = opt.Seeds, opt.ProgressEvery
	if back.Dataset != opt.Dataset || back.Train != opt.Train || back.Val != opt.Val || back.Channels != opt.Channels || back.Depth != opt.Depth ||
		back.Epochs != opt.Epochs || back.Batch != opt.Batch || back.LR != opt.LR || back.Momentum != opt.Momentum || back.WeightDecay != opt.WeightDecay {
		t.Errorf("applied: %+v, from %+v", back, opt)
	}
	good, _ := os.ReadFile(SettingsPath(csvPath))
	for name, c := range map[string]struct{ body, want string }{
		"cut":     {string(good[:len(good)/2]), "not the settings of a ground truth: unexpected EOF"},
		"foreign": {`{"dataset": "mnist", "train": 10, "learning_rate": 1}`, `unknown field "learning_rate"`},
		"two":     {string(good) + string(good), "more than one JSON object"},
		"zero":    {strings.Replace(string(good), `"train": 30000`, `"train": 0`, 1), "must all be set (dataset \"fashion-mnist\", train 0,"},
		"type":    {strings.Replace(string(good), `"epochs": 3`, `"epochs": "3"`, 1), "cannot unmarshal string"},
	} {
		p := filepath.Join(dir, name+".csv")
		if err := os.WriteFile(SettingsPath(p), []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadSettings(p); err == nil || !strings.Contains(err.Error(), SettingsPath(p)+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The settings kept beside each committed table are those it was trained with: one
// arch of each (the smallest above 50%), trained again with them, gives the table's
// accuracy to the example (seed 3 for the four-seed table, whose seeds 1 and 2 are the
// 30k table's). About 3.5 min on 2 cores; it needs Fashion-MNIST.
func TestCommittedTableSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("trains five archs; run without -short")
	}
	const fashion = "/usr/share/datasets/fashion-mnist"
	if _, err := os.Stat(fashion); err != nil {
		t.Skipf("Fashion-MNIST not installed at %s (apt-get install dataset-fashion-mnist); skipping", fashion)
	}
	for _, c := range []struct {
		path string
		seed int
	}{
		{"testdata/nb201-fashion-mnist.csv", 1},
		{"testdata/nb201-fashion-mnist-6ep.csv", 2},
		{"testdata/nb201-fashion-mnist-30k.csv", 1},
		{"testdata/nb201-fashion-mnist-30k-4seeds.csv", 3},
		{"testdata/nb201-fashion-mnist-55k.csv", 2},
	} {
		s, err := LoadSettings(c.path)
		if err != nil || s == nil {
			t.Fatalf("%s: settings %v, %v", c.path, s, err)
		}
		if s.Table != "nb201" || s.N != 150 || s.Seed != 1 {
			t.Errorf("%s: archs drawn as %s, %d, seed %d; TestCommittedTables finds the sample of nb201, 150, seed 1", c.path, s.Table, s.N, s.Seed)
		}
		rows, err := Load(c.path)
		if err != nil {
			t.Fatal(err)
		}
		var pick *Row
		for i, r := range rows {
			if len(r.Acc) >= c.seed && r.Mean() > 50 && (pick == nil || r.Params < pick.Params) {
				pick = &rows[i]
			}
		}
		opt := Defaults
		s.Apply(&opt)
		b, err := NewBuilder(opt)
		if err != nil {
			t.Fatal(err)
		}
		_, res, err := b.trainSeeds(context.Background(), pick.Arch, []uint64{uint64(c.seed)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res[0].ValAcc, pick.Acc[c.seed-1]; got != want {
			t.Errorf("%s: %s, seed %d, trained with %+v: %v; the table has %v", c.path, pick.Arch, c.seed, *s, got, want)
		}
	}
}
