package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"cellar/engine"
	"cellar/internal/boltfile"
	"cellar/internal/enginetest"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cellar.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("consistency check: %v", err)
		}
		db.Close()
	})
	return db, path
}

func TestCommitAndReadBack(t *testing.T) {
	db, path := openTemp(t)
	x, err := db.CreateExperiment("first", []byte("name: first\n"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	trials := []engine.Trial{
		{ID: 2, Arch: "b", Origin: "regevo", Parent: 1, State: engine.Done, Metrics: map[string]float64{"acc": 91.5}, Queued: now, Started: now, Finished: now.Add(time.Second),
			Curve: []engine.CurvePoint{{Epoch: 1, Metrics: map[string]float64{"loss": 0.5}}}},
		{ID: 1, Arch: "a", Origin: "regevo", State: engine.Failed, Error: "arch a is not in table", Queued: now},
	}
	cp := engine.Checkpoint{Strategy: []byte(`{"x":1}`), Pending: []engine.Pending{{ID: 3, Arch: "c", Origin: "hand", Parent: 2}}, NextID: 4, Elapsed: time.Minute}
	if err := x.Commit(trials, cp); err != nil {
		t.Fatal(err)
	}
	got, err := x.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != 1 || got[1].ID != 2 {
		t.Fatalf("trials %+v: want ids 1, 2 in order", got)
	}
	if got[1].Metrics["acc"] != 91.5 || got[1].Parent != 1 || !got[1].Finished.Equal(now.Add(time.Second)) || got[1].Curve[0].Metrics["loss"] != 0.5 {
		t.Errorf("trial 2 read back as %+v", got[1])
	}
	if got[0].Error != "arch a is not in table" || got[0].State != engine.Failed {
		t.Errorf("trial 1 read back as %+v", got[0])
	}
	back, err := x.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Strategy) != `{"x":1}` || back.NextID != 4 || back.Pending[0].Parent != 2 || back.Elapsed != time.Minute {
		t.Errorf("checkpoint read back as %+v", back)
	}
	if _, err := x.Trial(7); err == nil || !strings.Contains(err.Error(), "no trial 7") {
		t.Errorf("missing trial: %v", err)
	}
	// A second experiment gets the next id; both are listed.
	if y, err := db.CreateExperiment("second", nil); err != nil || y.ID != 2 {
		t.Fatalf("second experiment: %v, %v", y, err)
	}
	infos, err := db.Experiments()
	if err != nil || len(infos) != 2 || infos[0].Name != "first" || infos[0].Trials != 2 {
		t.Fatalf("experiments %+v, %v", infos, err)
	}
	_ = path
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := db.CreateExperiment("e", []byte("src"))
	if err := x.Commit([]engine.Trial{{ID: 1, Arch: "a", State: engine.Done}}, engine.Checkpoint{NextID: 2}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	x, err = ro.Experiment(1)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := x.Source()
	trials, _ := x.Trials()
	if string(src) != "src" || len(trials) != 1 {
		t.Errorf("source %q, %d trials", src, len(trials))
	}
	if _, err := ro.Experiment(9); err == nil {
		t.Error("experiment 9 found")
	}
}

func TestLockedFileSaysInUse(t *testing.T) {
	_, path := openTemp(t)
	for _, open := range []func(string, time.Duration) (*DB, error){Open, OpenReadOnly} {
		_, err := open(path, 50*time.Millisecond)
		if !errors.Is(err, ErrInUse) {
			t.Fatalf("second open: %v; want ErrInUse", err)
		}
		if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
			t.Errorf("error does not name the holder: %v", err)
		}
	}
}

func TestBadFilesRefused(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A text file.
	if _, err := Open(write("text.db", []byte("hello, this is not a database at all\n")), time.Second); err == nil || !strings.Contains(err.Error(), "not a bbolt file") {
		t.Errorf("text file: %v", err)
	}
	// Another application's bolt file.
	other := filepath.Join(dir, "other.db")
	b, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("users")); return err })
	b.Close()
	if _, err := Open(other, time.Second); err == nil || !strings.Contains(err.Error(), "without cellar's meta") {
		t.Errorf("foreign bolt file: %v", err)
	}
	// A cellar file of a later schema.
	_, path := func() (*DB, string) {
		p := filepath.Join(dir, "future.db")
		db, err := Open(p, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("7")) })
		db.Close()
		return nil, p
	}()
	if _, err := Open(path, time.Second); err == nil || !strings.Contains(err.Error(), "schema version 7; this cellar reads versions 1 to 2") {
		t.Errorf("future schema: %v", err)
	}
	// A truncated cellar file.
	good := filepath.Join(dir, "good.db")
	db, _ := Open(good, time.Second)
	db.Close()
	raw, _ := os.ReadFile(good)
	if _, err := Open(write("trunc.db", raw[:100]), time.Second); err == nil {
		t.Error("truncated file opened")
	}
	// A missing file cannot be browsed.
	if _, err := OpenReadOnly(filepath.Join(dir, "none.db"), time.Second); err == nil {
		t.Error("browsing a missing file succeeded")
	}
}

func TestCorruptTrialRecordNamed(t *testing.T) {
	db, _ := openTemp(t)
	x, _ := db.CreateExperiment("e", nil)
	db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExperiments).Bucket(key(x.ID)).Bucket(bucketTrials).Put(key(5), []byte("{broken"))
	})
	if _, err := x.Trials(); err == nil || !strings.Contains(err.Error(), "trial 5: corrupt record") {
		t.Errorf("corrupt trial: %v", err)
	}
}

// Reading in pages gives the trials of one read, each once, in order; the first of
// several corrupt records is the one named.
func TestTrialsAfterPages(t *testing.T) {
	db, _ := openTemp(t)
	x, _ := db.CreateExperiment("e", nil)
	var trials []engine.Trial
	for i := 1; i <= 103; i++ {
		trials = append(trials, engine.Trial{ID: uint64(i), Arch: strconv.Itoa(i), State: engine.Done, Metrics: map[string]float64{"v": float64(i)}})
	}
	if err := x.Commit(trials, engine.Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	var paged []engine.Trial
	for after := uint64(0); ; {
		page, err := x.TrialsAfter(after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 10 {
			t.Fatalf("page of %d after %d", len(page), after)
		}
		paged = append(paged, page...)
		after = page[len(page)-1].ID
	}
	if len(paged) != 103 {
		t.Fatalf("%d trials in pages, want 103", len(paged))
	}
	for i, tr := range paged {
		if tr.ID != uint64(i+1) || tr.Arch != strconv.Itoa(i+1) || tr.Metrics["v"] != float64(i+1) {
			t.Fatalf("page position %d holds %+v", i, tr)
		}
	}
	db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExperiments).Bucket(key(x.ID)).Bucket(bucketTrials)
		b.Put(key(77), []byte("{broken"))
		return b.Put(key(40), []byte("[]"))
	})
	if _, err := x.TrialsAfter(0, 0); err == nil || !strings.Contains(err.Error(), "trial 40: corrupt record") {
		t.Errorf("two corrupt trials: %v", err)
	}
	if page, err := x.TrialsAfter(70, 20); err == nil || !strings.Contains(err.Error(), "trial 77") {
		t.Errorf("page over trial 77: %d trials, %v", len(page), err)
	}
	db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExperiments).Bucket(key(x.ID)).Bucket(bucketTrials)
		b.Put(key(77), []byte("{}"))
		return b.Put(key(40), []byte("{}"))
	})
}

func TestSharedHistoryIsOneCopyWhileHeld(t *testing.T) {
	db, _ := openTemp(t)
	const src = "name: h\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 40}\n"
	x, _ := db.CreateExperiment("h", []byte(src))
	exp := enginetest.Build(t, src)
	eng := engine.New(exp, engine.Options{Store: x})
	if err := eng.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := NewSharedHistory(x, eng)
	a, seqA, err := h.Trials()
	if err != nil || len(a) != 40 {
		t.Fatalf("%d trials, %v", len(a), err)
	}
	b, seqB, _ := h.Trials()
	if &a[0] != &b[0] || seqA != seqB {
		t.Fatal("two readers at once got two copies")
	}
	// Appending to one reader's slice must not write into the other's.
	a = append(a, engine.Trial{ID: 99})
	if len(b) != 40 || &a[0] == &b[0] {
		t.Fatal("a reader's append reached the shared trials")
	}
	// Once nobody holds them, they go: the next reader reads again.
	a, b = nil, nil
	runtime.GC()
	if h.first.Value() != nil {
		t.Fatal("the shared trials outlive their last reader")
	}
	if c, _, _ := h.Trials(); len(c) != 40 {
		t.Fatalf("re-read %d trials", len(c))
	}
}

func TestAFileChangedSinceItsLastWalkIsWalkedAgain(t *testing.T) {
	db, path := openTemp(t)
	x, _ := db.CreateExperiment("e", []byte("name: e\n"))
	x.Commit([]engine.Trial{{ID: 1, State: engine.Done}}, engine.Checkpoint{NextID: 2})
	db.Close()
	ro, err := OpenReadOnly(path, time.Second) // walked and remembered
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()
	// Damage the root page without changing the file's size.
	bf, err := boltfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ps, root := bf.Meta.PageSize, int(bf.Meta.Root)
	bf.Close()
	raw, _ := os.ReadFile(path)
	clear(raw[root*ps : (root+1)*ps])
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if ro, err := OpenReadOnly(path, time.Second); err == nil {
		ro.Close()
		t.Fatal("a file damaged after its last walk opened as sound")
	}
	reopen, err := Open(filepath.Join(t.TempDir(), "other.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	*db = *reopen
}

// Large states are kept apart from the checkpoint: a commit writes those it carries
// and leaves the others as they were, the checkpoint comes back with all of them, and
// salvage copies them with the checkpoint they belong to.
func TestLargeStatesKeptApart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, err := db.CreateExperiment("w", []byte("name: w\n"))
	if err != nil {
		t.Fatal(err)
	}
	weights := bytes.Repeat([]byte{7}, 1<<16)
	commit := func(id uint64, large map[string][]byte) {
		t.Helper()
		tr := engine.Trial{ID: id, Arch: "a", State: engine.Done}
		if err := x.Commit([]engine.Trial{tr}, engine.Checkpoint{Strategy: []byte(`{}`), NextID: id + 1, Large: large}); err != nil {
			t.Fatal(err)
		}
	}
	commit(1, map[string][]byte{"evaluator": weights, "strategy": []byte("alphas")})
	commit(2, nil)
	commit(3, map[string][]byte{"strategy": []byte("alphas 2")})
	cp, err := x.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if cp.NextID != 4 || !bytes.Equal(cp.Large["evaluator"], weights) || string(cp.Large["strategy"]) != "alphas 2" || len(cp.Large) != 2 {
		t.Fatalf("checkpoint next %d, large %d parts (evaluator %d bytes, strategy %q)", cp.NextID, len(cp.Large), len(cp.Large["evaluator"]), cp.Large["strategy"])
	}
	raw, err := json.Marshal(cp)
	if err != nil || bytes.Contains(raw, []byte("alphas")) {
		t.Errorf("the checkpoint record holds the large states: %.100s", raw)
	}
	db.Close()
	saved := filepath.Join(t.TempDir(), "saved.db")
	if _, err := Salvage(path, saved); err != nil {
		t.Fatal(err)
	}
	sdb, err := OpenReadOnly(saved, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	sx, err := sdb.Experiment(x.ID)
	if err != nil {
		t.Fatal(err)
	}
	scp, err := sx.Checkpoint()
	if err != nil || !bytes.Equal(scp.Large["evaluator"], weights) || string(scp.Large["strategy"]) != "alphas 2" {
		t.Errorf("salvaged checkpoint: %v, large %d parts", err, len(scp.Large))
	}
}

// A version 1 file (whose learners kept their weights in their state) is read as it
// is; a writable open marks it version 2, a read-only one leaves it alone.
func TestSchemaOneIsReadAndUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := db.CreateExperiment("old", []byte("name: old\n"))
	x.Commit([]engine.Trial{{ID: 1, Arch: "a", State: engine.Done}}, engine.Checkpoint{Strategy: []byte(`{"supernet":"AAAA"}`), NextID: 2})
	db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("1")) })
	db.Close()
	schema := func() string {
		t.Helper()
		b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		var v string
		b.View(func(tx *bolt.Tx) error { v = string(tx.Bucket(bucketMeta).Get(keySchema)); return nil })
		return v
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := ro.Experiment(x.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cp, err := rx.Checkpoint(); err != nil || string(cp.Strategy) != `{"supernet":"AAAA"}` || cp.Large != nil {
		t.Errorf("version 1 checkpoint: %+v, %v", cp, err)
	}
	ro.Close()
	if v := schema(); v != "1" {
		t.Errorf("a read-only open changed the schema to %s", v)
	}
	rw, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rw.Close()
	if v := schema(); v != "2" {
		t.Errorf("after a writable open the schema is %s, want 2", v)
	}
}

// ResumeOptions hand the engine what a resume needs from the file: the checkpoint
// with its large states, every stored trial, and the steering of the journal only.
func TestResumeOptions(t *testing.T) {
	db, _ := openTemp(t)
	x, _ := db.CreateExperiment("r", []byte("name: r\n"))
	steer := engine.Entry{Op: engine.OpSteer, Trial: 3, Who: "ann", Param: "population", Old: 10, New: 20}
	cp := engine.Checkpoint{Strategy: []byte(`{}`), NextID: 3, Large: map[string][]byte{"strategy": []byte("w")},
		Journal: []engine.Entry{{Op: engine.OpAsk, Trial: 1}, {Op: engine.OpAsk, Trial: 2}, steer}}
	if err := x.Commit([]engine.Trial{{ID: 1, Arch: "a", State: engine.Done}, {ID: 2, Arch: "b", State: engine.Failed}}, cp); err != nil {
		t.Fatal(err)
	}
	opt, err := x.ResumeOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opt.Resume == nil || opt.Resume.NextID != 3 || string(opt.Resume.Large["strategy"]) != "w" || len(opt.Stored) != 2 || opt.Stored[2].Arch != "b" {
		t.Errorf("resume %+v, stored %v", opt.Resume, opt.Stored)
	}
	if len(opt.Steered) != 1 || opt.Steered[0].Param != "population" || opt.Steered[0].New != 20 {
		t.Errorf("steered %+v; want the one steer entry", opt.Steered)
	}
	cp.Finished, cp.Journal, cp.NextID = true, nil, 4
	if err := x.Commit([]engine.Trial{{ID: 3, Arch: "c", State: engine.Done}}, cp); err != nil {
		t.Fatal(err)
	}
	if _, err := x.ResumeOptions(); !errors.Is(err, ErrFinished) {
		t.Errorf("a finished experiment: %v; want ErrFinished", err)
	}
}

// Objectives come from the checkpoint, where the search writes them as it resolved
// them; a file from before that falls back to the config's, then to a guess from a
// trial's metrics.
func TestObjectivesAsTheSearchResolvedThem(t *testing.T) {
	db, _ := openTemp(t)
	src := "name: o\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 2}\n"
	x, err := db.CreateExperiment("o", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	trial := engine.Trial{ID: 1, Arch: "a", State: engine.Done, Metrics: map[string]float64{"flops": 2, "params": 1}}
	if err := x.Commit([]engine.Trial{trial}, engine.Checkpoint{Strategy: []byte(`{}`), NextID: 2}); err != nil {
		t.Fatal(err)
	}
	// Written before checkpoints held them, with none in the config: a guess.
	if o, err := x.Objectives(); err != nil || len(o) != 1 || o[0] != (engine.Objective{Name: "flops", Direction: "min"}) {
		t.Errorf("guessed objectives %v, %v", o, err)
	}
	cp := engine.Checkpoint{Strategy: []byte(`{}`), NextID: 2, Objectives: []engine.Objective{{Name: "params", Direction: "min"}}}
	if err := x.Commit(nil, cp); err != nil {
		t.Fatal(err)
	}
	if o, err := x.Objectives(); err != nil || len(o) != 1 || o[0].Name != "params" {
		t.Errorf("objectives from the checkpoint %v, %v", o, err)
	}
	y, _ := db.CreateExperiment("p", []byte(src+"objectives: [{name: params, direction: min}, {name: flops, direction: min}]\n"))
	if o, err := y.Objectives(); err != nil || len(o) != 2 || o[1].Name != "flops" {
		t.Errorf("objectives from the config %v, %v", o, err)
	}
}

// A commit's journal entries are one record (a JSON array), and a journal written one
// entry a record (as cellar did before) reads the same: Journal gives every entry in
// order, and the file checks clean.
func TestJournalRecords(t *testing.T) {
	db, _ := openTemp(t)
	x, err := db.CreateExperiment("j", nil)
	if err != nil {
		t.Fatal(err)
	}
	entry := func(i uint64) engine.Entry {
		return engine.Entry{Op: engine.OpAsk, Trial: i, Arch: fmt.Sprintf("a%d", i), Time: time.Unix(int64(i), 0).UTC()}
	}
	// The old layout: an entry a key.
	err = db.update(func(tx *bolt.Tx) error {
		jb, err := tx.Bucket(bucketExperiments).Bucket(key(x.ID)).CreateBucket(bucketJournal)
		if err != nil {
			return err
		}
		for i := uint64(1); i <= 2; i++ {
			seq, _ := jb.NextSequence()
			raw, _ := json.Marshal(entry(i))
			if err := jb.Put(key(seq), raw); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []engine.Entry
	for i := uint64(1); i <= 2; i++ {
		want = append(want, entry(i))
	}
	for _, n := range []int{3, 1, 0, 4} { // commits of several entries, one, none
		var es []engine.Entry
		for range n {
			es = append(es, entry(uint64(len(want)+1)))
			want = append(want, es[len(es)-1])
		}
		if err := x.Commit(nil, engine.Checkpoint{Strategy: []byte("{}"), Journal: es}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := x.Journal()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("journal:\n got %v\nwant %v", got, want)
	}
	var records int
	db.bolt.View(func(tx *bolt.Tx) error {
		records = tx.Bucket(bucketExperiments).Bucket(key(x.ID)).Bucket(bucketJournal).Stats().KeyN
		return nil
	})
	if records != 5 { // two old, then one a commit that had entries
		t.Errorf("%d journal records, want 5", records)
	}
	// openTemp's cleanup checks the file, journal records included.
}

// The trials and journal buckets only grow, so their pages are filled before they
// split: a long search's trials take little more room than their records.
func TestAppendOnlyBucketsFillTheirPages(t *testing.T) {
	db, _ := openTemp(t)
	x, err := db.CreateExperiment("f", nil)
	if err != nil {
		t.Fatal(err)
	}
	arch := "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
	for c := range 300 {
		var trials []engine.Trial
		var es []engine.Entry
		for i := range 4 {
			id := uint64(4*c + i + 1)
			trials = append(trials, engine.Trial{ID: id, Arch: arch, Origin: "regevo", State: engine.Done, Metrics: map[string]float64{"test_accuracy": 90}})
			es = append(es, engine.Entry{Op: engine.OpTell, Trial: id, Arch: arch})
		}
		if err := x.Commit(trials, engine.Checkpoint{Strategy: []byte("{}"), Journal: es}); err != nil {
			t.Fatal(err)
		}
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExperiments).Bucket(key(x.ID))
		// A journal record here is 4 entries, ~1.3 KB: two a page are 66%, what bbolt's
		// default split leaves is half.
		for name, least := range map[string]float64{string(bucketTrials): 0.85, string(bucketJournal): 0.6} {
			st := b.Bucket([]byte(name)).Stats()
			if fill := float64(st.LeafInuse) / float64(st.LeafPageN*db.bolt.Info().PageSize); fill < least {
				t.Errorf("%s: %d leaf pages %.0f%% full", name, st.LeafPageN, 100*fill)
			}
		}
		return nil
	})
}

// Every experiment has a random identity of its own, kept across reopening: two
// experiments, or a new file at the same path after the first was deleted, never
// share one (they name a search's trials on a NATS queue).
func TestExperimentsHaveIdentitiesOfTheirOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cellar.db")
	d, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := d.CreateExperiment("a", []byte("x"))
	b, _ := d.CreateExperiment("b", []byte("x"))
	ia, err := a.Identity()
	ib, _ := b.Identity()

	if err != nil || len(ia) != 16 || ia == ib {
		t.Fatalf("identities %q %q, %v", ia, ib, err)
	}
	d.Close()
	d, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := d.Experiment(a.ID)
	if again, _ := x.Identity(); again != ia {
		t.Errorf("identity %q after reopening, was %q", again, ia)
	}
	d.Close()
	os.Remove(path)
	d, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fresh, _ := d.CreateExperiment("a", []byte("x"))
	if id, _ := fresh.Identity(); id == ia || fresh.ID != a.ID {
		t.Errorf("the new file's experiment %d has identity %q, the deleted one's was %q", fresh.ID, id, ia)
	}
}
