package storage

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"cellar/engine"
	"cellar/internal/damage"
)

// baseDB writes a cellar file as a search leaves it: two experiments, one of 3,000
// trials committed a few at a time with journal entries and checkpoints, and returns
// its path and the trials of each experiment.
func baseDB(t testing.TB, dir string) (string, map[uint64][]engine.Trial) {
	t.Helper()
	path := filepath.Join(dir, "base.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := map[uint64][]engine.Trial{}
	for _, n := range []int{3000, 40} {
		x, err := db.CreateExperiment(fmt.Sprintf("exp of %d", n), []byte("name: e\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 5000}\n"))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(n), 2))
		var trials []engine.Trial
		for id := 1; id <= n; {
			k := 1 + rng.IntN(60)
			var batch []engine.Trial
			for ; k > 0 && id <= n; k, id = k-1, id+1 {
				tr := engine.Trial{ID: uint64(id), Arch: fmt.Sprintf("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|%s~2|", []string{"nor_conv_1x1", "nor_conv_3x3", "none"}[id%3]), Origin: "random", State: engine.Done,
					Metrics: map[string]float64{"test_accuracy": 80 + rng.Float64()*15, "params": float64(rng.IntN(1e6))}, Seed: rng.Uint64(), Queued: time.Unix(int64(id), 0).UTC()}
				batch = append(batch, tr)
			}
			trials = append(trials, batch...)
			cp := engine.Checkpoint{Strategy: []byte(`{"rng":"x"}`), NextID: uint64(id), Elapsed: time.Duration(id) * time.Second,
				Journal: []engine.Entry{{Op: engine.OpAsk, Trial: uint64(id - 1)}}}
			if err := x.Commit(batch, cp); err != nil {
				t.Fatal(err)
			}
		}
		all[x.ID] = trials
	}
	return path, all
}

func TestDamagedFilesAreRefusedCheckedAndSalvaged(t *testing.T) {
	dir := t.TempDir()
	basePath, want := baseDB(t, dir)
	for i, d := range damage.Corpus(t, basePath) {
		t.Run(d.Name, func(t *testing.T) {
			sub := filepath.Join(dir, fmt.Sprint(i))
			os.Mkdir(sub, 0o700)
			path := d.Make(t, sub)
			before := damage.Hash(t, path)
			// Every way to open it: an error or a sound DB, never a panic.
			for _, mode := range []Mode{ReadOnly, Existing, Create} {
				db, err := OpenMode(path, 100*time.Millisecond, mode)
				if err != nil {
					if strings.Contains(err.Error(), "damaged") && !strings.Contains(err.Error(), "cellar check --db "+path) {
						t.Errorf("mode %d: %v: says neither what to run", mode, err)
					}
					continue
				}
				// Opened: its pages are sound. A record whose bytes were hit may still
				// not decode: that is an error naming it and what to run.
				if infos, err := db.Experiments(); err == nil {
					for _, info := range infos {
						x, _ := db.Experiment(info.ID)
						if _, err := x.Trials(); err != nil && !strings.Contains(err.Error(), "cellar salvage --db "+path) {
							t.Errorf("mode %d: experiment %d: %v: says not what to run", mode, info.ID, err)
						}
					}
				}
				db.Close()
			}
			if got := damage.Hash(t, path); got != before {
				t.Fatalf("opening changed the file")
			}
			report, err := Check(path)
			if err != nil {
				if _, serr := Salvage(path, filepath.Join(sub, "salvaged.db")); serr == nil {
					t.Errorf("check failed (%v) but salvage wrote a file", err)
				}
				return
			}
			out := filepath.Join(sub, "salvaged.db")
			sr, err := Salvage(path, out)
			if err != nil {
				t.Fatalf("check read the file, salvage failed: %v", err)
			}
			if got := damage.Hash(t, path); got != before {
				t.Fatalf("check or salvage changed the file")
			}
			db, err := OpenReadOnly(out, time.Second)
			if err != nil {
				t.Fatalf("the salvaged file does not open: %v", err)
			}
			defer db.Close()
			if err := db.Check(); err != nil {
				t.Fatalf("the salvaged file fails bbolt's check: %v", err)
			}
			flips := strings.Contains(d.Name, "flips")
			// With the newest meta page damaged, the file is as the transaction before
			// left it: the trials committed after that checkpoint were never in it.
			older := strings.Contains(strings.Join(report.Pages, "\n"), "meta page")
			for _, xr := range report.Experiments {
				x, err := db.Experiment(xr.ID)
				if err != nil {
					t.Fatalf("experiment %d not salvaged: %v", xr.ID, err)
				}
				got, err := x.Trials()
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != xr.Readable || sr.Copied[xr.ID] != xr.Readable {
					t.Errorf("experiment %d: check counts %d readable, salvage copied %d, the copy holds %d", xr.ID, xr.Readable, sr.Copied[xr.ID], len(got))
				}
				byID := map[uint64]engine.Trial{}
				for _, tr := range got {
					byID[tr.ID] = tr
				}
				// Salvage recovers every trial check does not name as lost, unchanged
				// (byte flips can change a record's digits and still decode).
				cp, _ := x.Checkpoint()
				for _, orig := range want[xr.ID] {
					if older && cp != nil && orig.ID >= cp.NextID {
						continue
					}
					tr, ok := byID[orig.ID]
					switch {
					case !ok && !slices.Contains(xr.Lost, orig.ID):
						t.Errorf("experiment %d trial %d: neither salvaged nor named lost", xr.ID, orig.ID)
					case ok && !flips && !sameTrial(tr, orig):
						t.Errorf("experiment %d trial %d salvaged as %+v", xr.ID, orig.ID, tr)
					}
				}
			}
			if d.Pages && report.OK() {
				t.Errorf("check found nothing wrong")
			}
		})
	}
}

func sameTrial(a, b engine.Trial) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return reflect.DeepEqual(ja, jb)
}

func TestCheckOfASoundFile(t *testing.T) {
	path, want := baseDB(t, t.TempDir())
	r, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("a sound file has problems: %+v", r)
	}
	for _, x := range r.Experiments {
		if x.Readable != len(want[x.ID]) || !x.Resumable {
			t.Errorf("experiment %d: %d readable, want %d", x.ID, x.Readable, len(want[x.ID]))
		}
	}
}

func TestCheckNamesARecordThatDoesNotDecode(t *testing.T) {
	db, path := openTemp(t)
	x, _ := db.CreateExperiment("e", []byte("name: e\n"))
	done := func(id uint64) engine.Trial {
		return engine.Trial{ID: id, Arch: "a", Origin: "random", State: engine.Done, Metrics: map[string]float64{"acc": 1}}
	}
	x.Commit([]engine.Trial{done(1), done(2)}, engine.Checkpoint{NextID: 3})
	db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExperiments).Bucket(key(x.ID)).Bucket(bucketTrials).Put(key(2), []byte(`{"id": 2, "state": `))
	})
	db.Close()
	r, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || !slices.Equal(r.Experiments[0].Lost, []uint64{2}) || !strings.Contains(strings.Join(r.Experiments[0].Problems, "\n"), "trial 2: does not decode") {
		t.Fatalf("report %+v: want trial 2 named as not decoding and lost", r.Experiments[0])
	}
	reopen, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	*db = *reopen
}

func FuzzTrialRecord(f *testing.F) {
	tr, _ := json.Marshal(engine.Trial{ID: 3, Arch: "a", Origin: "random", State: engine.Done, Metrics: map[string]float64{"acc": 1}, Curve: []engine.CurvePoint{{Epoch: 1}}})
	cp, _ := json.Marshal(engine.Checkpoint{NextID: 4, Pending: []engine.Pending{{ID: 3}}, Strategy: []byte("{}")})
	f.Add(tr, cp)
	f.Fuzz(func(t *testing.T, trial, checkpoint []byte) {
		x := newExpImage(1)
		x.fields[string(keyCheckpoint)], x.fields[string(keyName)] = checkpoint, []byte("f")
		x.journal[1], x.journalSeq = trial, 1
		problem, arch := decodeTrial(3, trial)
		x.record(3, trial, problem, arch, true)
		r := x.check(1)
		// A record counted readable is one a reader decodes, under its id.
		if r.Readable == 1 {
			var got engine.Trial
			if err := json.Unmarshal(trial, &got); err != nil || got.ID != 3 {
				t.Fatalf("counted readable, but decodes as %+v, %v", got, err)
			}
		}
	})
}

// check reads each record as the engine would: a state there is none of, an origin
// that is not text, a done trial without metrics and an arch of no cell of the space
// are each named, and counted lost, though they decode.
func TestCheckValidatesRecordsAsTheEngineReadsThem(t *testing.T) {
	db, path := openTemp(t)
	src := "name: v\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 5}\n"
	x, _ := db.CreateExperiment("v", []byte(src))
	cell := "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|none~2|"
	ok := engine.Trial{ID: 1, Arch: cell, Origin: "random", State: engine.Done, Metrics: map[string]float64{"params": 1}}
	bad := []engine.Trial{ok, ok, ok, ok, ok}
	for i := range bad {
		bad[i].ID = uint64(i + 1)
	}
	bad[1].State = "zzzz"
	bad[2].Origin = "\xffegevo"
	bad[3].Metrics = nil
	bad[4].Arch = "|noa_conv~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|none~2|"
	if err := x.Commit(bad, engine.Checkpoint{NextID: 6}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r, err := Check(path)
	if err != nil {
		t.Fatal(err)
	}
	problems := strings.Join(r.Experiments[0].Problems, "\n")
	for _, want := range []string{`trial 2: state "zzzz"`, "trial 3: origin", "trial 4: done, with no metrics", `trial 5: arch "|noa_conv~0|`} {
		if !strings.Contains(problems, want) {
			t.Errorf("check does not say %q:\n%s", want, problems)
		}
	}
	if !slices.Equal(r.Experiments[0].Lost, []uint64{2, 3, 4, 5}) || r.Experiments[0].Readable != 1 {
		t.Errorf("lost %v, %d readable; want 2-5 lost, trial 1 readable", r.Experiments[0].Lost, r.Experiments[0].Readable)
	}
	reopen, err := Open(path, time.Second) // for openTemp's own check at the end
	if err != nil {
		t.Fatal(err)
	}
	*db = *reopen
}
