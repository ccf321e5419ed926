// Package storage keeps experiments, trials and checkpoints in one bbolt file.
//
// Layout: a "meta" bucket with the schema version; an "experiments" bucket holding one
// bucket per experiment, keyed by its big-endian id, with the config source, its name,
// creation time and random identity (the name its trials go by on a NATS queue), a
// checkpoint, the large pieces of state apart from it ("large.strategy",
// "large.evaluator": a supernet's weights, written only when they change), a "trials"
// bucket keyed by big-endian trial id and a "journal" bucket of the search's
// decisions (engine.Entry, keyed by a big-endian sequence); a "latency" bucket
// holds a latency table per machine (see latency.go).
package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
	"weak"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"cellar/engine"
)

// SchemaVersion is the layout this code writes. A file of another version is refused
// on open with an error that says both versions, except version 1, whose learners
// kept their weights inside their state (which their Restore still reads): it is
// read as it is, and a writable open marks it version 2, since what is written from
// then on keeps the weights apart.
const SchemaVersion = 2

// oldestSchema is the oldest version this code reads.
const oldestSchema = 1

var (
	bucketMeta        = []byte("meta")
	bucketExperiments = []byte("experiments")
	bucketTrials      = []byte("trials")
	bucketJournal     = []byte("journal")
	keySchema         = []byte("schema")
	keyApp            = []byte("app")
	keyConfig         = []byte("config")
	keyName           = []byte("name")
	keyCreated        = []byte("created")
	keyIdentity       = []byte("identity")
	keyCheckpoint     = []byte("checkpoint")
	largePrefix       = "large." // + the part: a LargeStateful's state
	appName           = []byte("cellar")
)

// ErrInUse is returned (wrapped, with who holds it when that can be found) when another
// process holds the file.
var ErrInUse = errors.New("database is in use by another process")

// DB is an open cellar database.
type DB struct {
	bolt     *bolt.DB
	path     string
	readOnly bool
	// created says this open made the file: a caller that then fails before doing its
	// job removes it again (see Discard).
	created bool
	// snapshot is when OpenSnapshot copied the file a search held; snapshotFile is
	// the copy, removed on Close.
	snapshot     time.Time
	snapshotFile string
}

// Mode says what an open may do to the file.
type Mode int

const (
	// Create opens a cellar database for writing, creating the file when there is
	// none (a new search).
	Create Mode = iota
	// Existing opens a cellar database that must already exist, for writing (resume,
	// fork, latency tables).
	Existing
	// ReadOnly opens an existing cellar database for reading only (browsing).
	ReadOnly
)

// Open opens or creates a database for searching. timeout bounds the wait for another
// process's lock (0 means one second).
func Open(path string, timeout time.Duration) (*DB, error) {
	return OpenMode(path, timeout, Create)
}

// unwrapPath is err without the *PathError around it, whose message would name the
// path a second time.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// OpenReadOnly opens an existing database for browsing. It waits at most timeout for a
// process that is writing it.
func OpenReadOnly(path string, timeout time.Duration) (*DB, error) {
	return OpenMode(path, timeout, ReadOnly)
}

// OpenMode opens path as mode allows. Before bbolt maps a file that exists, the file
// is checked page by page (see verify): a damaged file is refused with an error that
// says what is wrong and what to do, never read by bbolt, and never written.
func OpenMode(path string, timeout time.Duration, mode Mode) (*DB, error) {
	if timeout <= 0 {
		timeout = time.Second
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && mode == Create:
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file (a search makes one: cellar search -c exp.yaml --db %s)", path, path)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, unwrapPath(err))
	case st.IsDir():
		return nil, fmt.Errorf("open %s: a directory, not a cellar database; give a file with --db", path)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("open %s: %s; give a cellar database file with --db", path, notRegular(st))
	case st.Size() == 0:
		return nil, fmt.Errorf("open %s: the file is empty (0 bytes), not a cellar database; remove it or give another --db", path)
	case mode != ReadOnly && st.Mode().Perm()&0o200 == 0:
		// Root may write anyway; a read-only mode says the owner wants it kept.
		return nil, fmt.Errorf("open %s: the file is read-only (%v); cellar writes only to files you can write (chmod u+w %s), and browses this one as it is", path, st.Mode().Perm(), path)
	default:
		// A quick look before bbolt maps the file: bbolt faults on a file shorter
		// than its meta says, and panics on a damaged freelist. It holds no lock, so
		// a search writing the file can make it read a page mid-change: then the
		// file is in use, not damaged.
		if err := precheck(path); err != nil {
			if lockedByWriter(path) {
				return nil, fmt.Errorf("open %s: %w%s; close it or wait (a browser can retry)", path, ErrInUse, holder(path))
			}
			return nil, err
		}
	}
	created := err != nil
	if created {
		if err := createWhole(path, timeout); err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	}
	b, err := openBolt(path, timeout, mode == ReadOnly)
	if err = asDamaged(path, err); err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w%s; close it or wait (a browser can retry)", path, ErrInUse, holder(path))
		}
		if created {
			os.Remove(path)
		}
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	d := &DB{bolt: b, path: path, readOnly: mode == ReadOnly, created: created}
	if !created {
		// Now that bbolt holds the lock, no writer can change the file under the walk.
		if err := verify(path); err != nil {
			b.Close()
			return nil, err
		}
	}
	if err := d.init(); err != nil {
		d.Discard()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return d, nil
}

// notRegular says what a path that is not a regular file is: opening a named pipe
// for reading waits for a writer for ever, and a device reads without end.
func notRegular(st fs.FileInfo) string {
	kind := "a special file"
	switch m := st.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	}
	return kind + ", not a regular file: not a cellar database"
}

// lockedByWriter says another process holds the file's write lock.
func lockedByWriter(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return sharedLock(f) != nil
}

// openBolt opens the file with bbolt, turning a panic inside it into an error.
func openBolt(path string, timeout time.Duration, readOnly bool) (b *bolt.DB, err error) {
	err = guard(func() error {
		var err error
		b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly})
		return err
	})
	return b, err
}

// Discard closes the DB and, when this open created the file and no experiment was
// stored in it, removes the file: a command that fails before its job leaves nothing.
func (d *DB) Discard() {
	empty := true
	if d.created {
		if infos, err := d.Experiments(); err != nil || len(infos) > 0 {
			empty = false
		}
	}
	d.bolt.Close()
	if d.created && empty {
		os.Remove(d.path)
	}
}

func (d *DB) init() error {
	var old bool // a version 1 file
	check := func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return errors.New("not a cellar database: a bbolt file without cellar's meta bucket")
			}
			return errNoMeta
		}
		if !bytes.Equal(meta.Get(keyApp), appName) {
			return errors.New("not a cellar database: another application's bbolt file")
		}
		v, err := strconv.Atoi(string(meta.Get(keySchema)))
		if err != nil {
			return fmt.Errorf("corrupt schema version %q", meta.Get(keySchema))
		}
		if v < oldestSchema || v > SchemaVersion {
			return fmt.Errorf("schema version %d; this cellar reads versions %d to %d", v, oldestSchema, SchemaVersion)
		}
		if tx.Bucket(bucketExperiments) == nil {
			return errors.New("damaged: the experiments bucket is missing; run cellar check and cellar salvage")
		}
		old = v < SchemaVersion
		return nil
	}
	err := d.view(check)
	if err == nil && old && !d.readOnly {
		return d.update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
		})
	}
	if !errors.Is(err, errNoMeta) {
		return err
	}
	if !d.created {
		// An empty bbolt file that cellar did not make: leave it as it is.
		return errors.New("an empty bbolt file with no cellar data; remove it or give another --db")
	}
	return d.update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keyApp, appName); err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(bucketExperiments)
		return err
	})
}

var errNoMeta = errors.New("no meta bucket")

// createWhole makes a new database at path with its schema, atomically: the file is
// made and initialised under a temporary name beside it, then linked to path, so a
// process killed meanwhile leaves path absent, never a bbolt file without cellar's
// schema (which every later open refuses). The link does not replace a file another
// process made first; that one is used.
func createWhole(path string, timeout time.Duration) error {
	tmp := fmt.Sprintf("%s.new-%d", path, os.Getpid())
	os.Remove(tmp) // left by a process of this pid that was killed
	b, err := openBolt(tmp, timeout, false)
	if err != nil {
		return err
	}
	d := &DB{bolt: b, path: tmp, created: true}
	err = d.init()
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp, path)
		if _, serr := os.Stat(path); err != nil && !errors.Is(err, fs.ErrExist) && errors.Is(serr, fs.ErrNotExist) {
			err = os.Rename(tmp, path) // a file system without links
		}
		if errors.Is(err, fs.ErrExist) {
			err = nil // another process made it first: it is whole too
		}
	}
	os.Remove(tmp)
	return err
}

// Close closes the file.
func (d *DB) Close() error {
	err := d.bolt.Close()
	if d.snapshotFile != "" {
		os.Remove(d.snapshotFile)
	}
	return err
}

// Path is the file's path.
func (d *DB) Path() string { return d.path }

// Check runs bbolt's consistency check over the whole file.
func (d *DB) Check() error {
	return d.view(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
}

func key(id uint64) []byte {
	k := make([]byte, 8)
	binary.BigEndian.PutUint64(k, id)
	return k
}

// ExperimentInfo describes a stored experiment.
type ExperimentInfo struct {
	ID       uint64    `json:"id"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	Trials   int       `json:"trials"`
	Finished bool      `json:"finished"`
}

// Experiment is one stored experiment; it implements engine.Store.
type Experiment struct {
	db *DB
	ID uint64
}

// CreateExperiment stores a new experiment's config source and returns it.
func (d *DB) CreateExperiment(name string, source []byte) (*Experiment, error) {
	var id uint64
	err := d.update(func(tx *bolt.Tx) error {
		exps := tx.Bucket(bucketExperiments)
		var err error
		if id, err = exps.NextSequence(); err != nil {
			return err
		}
		b, err := exps.CreateBucket(key(id))
		if err != nil {
			return err
		}
		if _, err := b.CreateBucket(bucketTrials); err != nil {
			return err
		}
		created, _ := time.Now().UTC().MarshalText()
		for k, v := range map[string][]byte{string(keyConfig): source, string(keyName): []byte(name), string(keyCreated): created, string(keyIdentity): newIdentity()} {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create experiment in %s: %w", d.path, err)
	}
	return &Experiment{db: d, ID: id}, nil
}

// Experiment returns a stored experiment.
func (d *DB) Experiment(id uint64) (*Experiment, error) {
	err := d.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketExperiments).Bucket(key(id)) == nil {
			return fmt.Errorf("no experiment %d in %s", id, d.path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Experiment{db: d, ID: id}, nil
}

// Experiments lists the stored experiments, oldest first.
func (d *DB) Experiments() ([]ExperimentInfo, error) {
	var out []ExperimentInfo
	err := d.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketExperiments).ForEachBucket(func(k []byte) error {
			b := tx.Bucket(bucketExperiments).Bucket(k)
			info := ExperimentInfo{ID: binary.BigEndian.Uint64(k), Name: string(b.Get(keyName)), Trials: b.Bucket(bucketTrials).Stats().KeyN}
			_ = info.Created.UnmarshalText(b.Get(keyCreated))
			if raw := b.Get(keyCheckpoint); raw != nil {
				var cp engine.Checkpoint
				if err := json.Unmarshal(raw, &cp); err == nil {
					info.Finished = cp.Finished
				}
			}
			out = append(out, info)
			return nil
		})
	})
	return out, err
}

// view runs f on this experiment's bucket in a read transaction.
func (x *Experiment) view(f func(b *bolt.Bucket) error) error {
	return x.db.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExperiments).Bucket(key(x.ID))
		if b == nil {
			return fmt.Errorf("no experiment %d", x.ID)
		}
		return f(b)
	})
}

// newIdentity is a random identity for a new experiment: 16 hex digits.
func newIdentity() []byte {
	raw := make([]byte, 8)
	if _, err := rand.Read(raw); err != nil {
		panic("storage: no randomness: " + err.Error()) // crypto/rand does not fail on supported systems
	}
	return []byte(hex.EncodeToString(raw))
}

// Identity is the experiment's own random identity, made when it was created (for one
// created before cellar kept one, made and stored now): the name its trials go by on a
// NATS queue, which no other search shares, whatever its path or host, and no search
// made after this one's file was deleted.
func (x *Experiment) Identity() (string, error) {
	var id string
	err := x.view(func(b *bolt.Bucket) error {
		id = string(b.Get(keyIdentity))
		return nil
	})
	if err != nil || id != "" {
		return id, err
	}
	err = x.db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExperiments).Bucket(key(x.ID))
		if b == nil {
			return fmt.Errorf("no experiment %d", x.ID)
		}
		if id = string(b.Get(keyIdentity)); id == "" {
			fresh := newIdentity()
			id = string(fresh)
			return b.Put(keyIdentity, fresh)
		}
		return nil
	})
	return id, err
}

// Source is the experiment's config as the user wrote it.
func (x *Experiment) Source() ([]byte, error) {
	var src []byte
	err := x.view(func(b *bolt.Bucket) error {
		src = bytes.Clone(b.Get(keyConfig))
		return nil
	})
	return src, err
}

// appendFill is how full bbolt fills a page of the trials and journal buckets before
// it splits it. Their keys only grow, so a split page is never written into again: at
// bbolt's default of one half, half of every page was left empty for good.
const appendFill = 0.95

// Commit stores finished trials and the checkpoint in one transaction: both are
// durable when it returns.
func (x *Experiment) Commit(trials []engine.Trial, cp engine.Checkpoint) error {
	cpRaw, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	raws := make([][]byte, len(trials))
	for i, t := range trials {
		if raws[i], err = json.Marshal(t); err != nil {
			return fmt.Errorf("trial %d: %w", t.ID, err)
		}
	}
	journal, err := journalRecord(cp.Journal)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return x.db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExperiments).Bucket(key(x.ID))
		if b == nil {
			return fmt.Errorf("no experiment %d", x.ID)
		}
		tb := b.Bucket(bucketTrials)
		tb.FillPercent = appendFill
		for i, t := range trials {
			if err := tb.Put(key(t.ID), raws[i]); err != nil {
				return err
			}
		}
		if journal != nil {
			jb, err := b.CreateBucketIfNotExists(bucketJournal)
			if err != nil {
				return err
			}
			jb.FillPercent = appendFill
			seq, err := jb.NextSequence()
			if err != nil {
				return err
			}
			if err := jb.Put(key(seq), journal); err != nil {
				return err
			}
		}
		for part, raw := range cp.Large {
			if err := b.Put([]byte(largePrefix+part), raw); err != nil {
				return err
			}
		}
		return b.Put(keyCheckpoint, cpRaw)
	})
}

// Checkpoint returns the last checkpoint, or nil when the experiment has none yet.
func (x *Experiment) Checkpoint() (*engine.Checkpoint, error) {
	var cp *engine.Checkpoint
	err := x.view(func(b *bolt.Bucket) error {
		raw := b.Get(keyCheckpoint)
		if raw == nil {
			return nil
		}
		cp = &engine.Checkpoint{}
		if err := json.Unmarshal(raw, cp); err != nil {
			return damaged(x.db.path, fmt.Sprintf("experiment %d: corrupt checkpoint: %v", x.ID, err))
		}
		c := b.Cursor()
		for k, v := c.Seek([]byte(largePrefix)); k != nil && bytes.HasPrefix(k, []byte(largePrefix)); k, v = c.Next() {
			if cp.Large == nil {
				cp.Large = map[string][]byte{}
			}
			cp.Large[string(k[len(largePrefix):])] = bytes.Clone(v)
		}
		return nil
	})
	return cp, err
}

// FilesDir is the directory beside the database where the experiment's evaluators
// keep files (a command's trial directories): for cellar.db, cellar.files/ID. It is
// made by whoever writes into it first.
func (x *Experiment) FilesDir() string {
	base := strings.TrimSuffix(x.db.path, filepath.Ext(x.db.path))
	return filepath.Join(base+".files", strconv.FormatUint(x.ID, 10))
}

// ErrFinished says a resumed experiment has nothing left to do.
var ErrFinished = errors.New("the experiment has already finished")

// ResumeOptions are what the engine resumes the experiment from: its checkpoint (with
// the large states), its stored trials, and the steering its journal holds. A
// finished experiment is ErrFinished, with the options all the same: a caller that
// raises its budget may go on.
func (x *Experiment) ResumeOptions() (engine.Options, error) {
	var opt engine.Options
	var err error
	if opt.Resume, err = x.Checkpoint(); err != nil {
		return opt, err
	}
	trials, err := x.Trials()
	if err != nil {
		return opt, err
	}
	opt.Stored = make(map[uint64]engine.Trial, len(trials))
	for _, t := range trials {
		opt.Stored[t.ID] = t
	}
	journal, err := x.Journal()
	if err != nil {
		return opt, err
	}
	for _, en := range journal {
		if en.Op == engine.OpSteer {
			opt.Steered = append(opt.Steered, en)
		}
	}
	if cp := opt.Resume; cp != nil {
		// A trial below the next id that is neither stored nor pending was finished
		// and is gone: resuming would go on with the hole, as if it had never run.
		pending := map[uint64]bool{}
		for _, p := range cp.Pending {
			pending[p.ID] = true
		}
		var lost []uint64
		for id := uint64(1); id < cp.NextID; id++ {
			if _, ok := opt.Stored[id]; !ok && !pending[id] {
				lost = append(lost, id)
			}
		}
		if len(lost) > 0 {
			return opt, fmt.Errorf("experiment %d: %w: %d finished trials lost (%s); cellar check --db %s says what else, and cellar salvage copies what can be read into a new file",
				x.ID, ErrDamaged, len(lost), idRanges(lost), x.db.path)
		}
	}
	if opt.Resume != nil && opt.Resume.Finished {
		return opt, fmt.Errorf("experiment %d: %w after %d trials", x.ID, ErrFinished, len(trials))
	}
	return opt, nil
}

// Objectives are the experiment's objectives as its search resolved them, from the
// checkpoint; for a file written before checkpoints held them, the config's, or
// (when it names none) engine.GuessObjective from the first trial.
func (x *Experiment) Objectives() ([]engine.Objective, error) {
	cp, err := x.Checkpoint()
	if err != nil {
		return nil, err
	}
	if cp != nil && len(cp.Objectives) > 0 {
		return cp.Objectives, nil
	}
	src, err := x.Source()
	if err != nil {
		return nil, err
	}
	cfg, err := engine.ParseConfig(src)
	if err != nil {
		return nil, fmt.Errorf("experiment %d's config: %w", x.ID, err)
	}
	if len(cfg.Objectives) > 0 {
		return cfg.Objectives, nil
	}
	first, err := x.TrialsAfter(0, 1)
	if err != nil {
		return nil, err
	}
	var m map[string]float64
	if len(first) > 0 {
		m = first[0].Metrics
	}
	return []engine.Objective{engine.GuessObjective(m)}, nil
}

// Trials returns every stored trial in id order.
func (x *Experiment) Trials() ([]engine.Trial, error) { return x.TrialsAfter(0, 0) }

// TrialsAfter returns up to n stored trials (all when n <= 0) with ids above after,
// in id order. The records are copied out in the read transaction and decoded after
// it, in parallel, so the file is held only for the copy.
func (x *Experiment) TrialsAfter(after uint64, n int) ([]engine.Trial, error) {
	var ids []uint64
	var raws [][]byte
	err := x.view(func(b *bolt.Bucket) error {
		ids, raws = copyTrials(b, after, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x.decode(ids, raws)
}

// copyTrials copies up to n records (all when n <= 0) with ids above after out of a
// trials bucket, so they outlive the transaction.
func copyTrials(b *bolt.Bucket, after uint64, n int) (ids []uint64, raws [][]byte) {
	c := b.Bucket(bucketTrials).Cursor()
	for k, v := c.Seek(key(after + 1)); k != nil && (n <= 0 || len(raws) < n); k, v = c.Next() {
		ids = append(ids, binary.BigEndian.Uint64(k))
		raws = append(raws, bytes.Clone(v))
	}
	return ids, raws
}

// decode decodes trial records in parallel.
func (x *Experiment) decode(ids []uint64, raws [][]byte) ([]engine.Trial, error) {
	var err error
	out := make([]engine.Trial, len(raws))
	// Each worker decodes every k-th record and stops at its first corrupt one; the
	// error reported is the one of the lowest id, as a serial decode would give.
	bad := make([]int, runtime.GOMAXPROCS(0))
	errs := make([]error, len(bad))
	var wg sync.WaitGroup
	for w := range bad {
		wg.Add(1)
		bad[w] = len(raws)
		go func() {
			defer wg.Done()
			for i := w; i < len(raws); i += len(bad) {
				if err := json.Unmarshal(raws[i], &out[i]); err != nil {
					bad[w], errs[w] = i, err
					return
				}
			}
		}()
	}
	wg.Wait()
	first := len(raws)
	for w, i := range bad {
		if i < first {
			first = i
			err = damaged(x.db.path, fmt.Sprintf("experiment %d trial %d: corrupt record: %v", x.ID, ids[i], errs[w]))
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Reader reads an experiment as it was when the reader was made, while commits go
// on: a bbolt read transaction, which must be closed.
type Reader struct {
	x  *Experiment
	tx *bolt.Tx
}

// Reader begins a read of the experiment as it is now.
func (x *Experiment) Reader() (*Reader, error) {
	tx, err := x.db.bolt.Begin(false)
	if err != nil {
		return nil, err
	}
	return &Reader{x: x, tx: tx}, nil
}

// Trials returns every trial the experiment held when the reader was made.
func (r *Reader) Trials() ([]engine.Trial, error) {
	b := r.tx.Bucket(bucketExperiments).Bucket(key(r.x.ID))
	if b == nil {
		return nil, fmt.Errorf("no experiment %d", r.x.ID)
	}
	var ids []uint64
	var raws [][]byte
	if err := r.x.db.guarded(func() error { ids, raws = copyTrials(b, 0, 0); return nil }); err != nil {
		return nil, err
	}
	return r.x.decode(ids, raws)
}

// Close ends the read.
func (r *Reader) Close() error { return r.tx.Rollback() }

// Committer is what History needs of the engine storing into an experiment: a way to
// read while no commit is under way, told the Seq of the last event published
// (engine.Engine.Committed).
type Committer interface {
	Committed(read func(last uint64) error) error
}

// History reads the trials the experiment holds consistently with the events of eng,
// the engine storing into it: it returns them with the Seq of the last event they
// cover (see Engine.Committed), for a view that starts after the search did.
func (x *Experiment) History(eng Committer) ([]engine.Trial, uint64, error) {
	var rd *Reader
	var seq uint64
	err := eng.Committed(func(last uint64) error {
		var err error
		seq = last
		rd, err = x.Reader()
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	defer rd.Close()
	trials, err := rd.Trials()
	return trials, seq, err
}

// SharedHistory is an experiment's history read once and shared read-only by every
// caller that wants it at the same time (the SSH sessions of one search): each
// session once decoded every trial for itself, about 1 KB a trial, so a finished
// 100,000-trial search cost ~100 MB a session. The cache holds the trials weakly:
// once no caller holds them any more (sessions fold them into their views and drop
// them), the memory goes back; the next caller reads again. It is also read again
// when the engine has published events since.
type SharedHistory struct {
	x     *Experiment
	eng   Committer
	mu    sync.Mutex
	first weak.Pointer[engine.Trial] // the first trial of the shared slice
	n     int
	seq   uint64
}

// NewSharedHistory shares x's history as eng, the engine storing into it, goes on.
func NewSharedHistory(x *Experiment, eng Committer) *SharedHistory {
	return &SharedHistory{x: x, eng: eng}
}

// Trials returns the history as History does. The slice is shared: callers must not
// change it or the trials in it.
func (h *SharedHistory) Trials() ([]engine.Trial, uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.first.Value(); p != nil {
		current := false
		h.eng.Committed(func(last uint64) error { current = last == h.seq; return nil })
		if current {
			return unsafe.Slice(p, h.n), h.seq, nil
		}
	}
	trials, seq, err := h.x.History(h.eng)
	if err != nil {
		return nil, 0, err
	}
	h.first, h.n, h.seq = weak.Pointer[engine.Trial]{}, len(trials), seq
	if len(trials) > 0 {
		h.first = weak.Make(&trials[0])
	}
	return trials[:len(trials):len(trials)], seq, nil
}

// journalRecord is the journal's record of one commit's entries: the entry itself
// when there is one (as cellar wrote every entry before), else a JSON array of them.
// One record a commit, not one a entry: eight entries under their own keys made a
// commit of four trials 30% slower (bbolt touches more pages), one record of eight
// cost nothing measurable. Nil when there are none.
func journalRecord(entries []engine.Entry) ([]byte, error) {
	switch len(entries) {
	case 0:
		return nil, nil
	case 1:
		return json.Marshal(entries[0])
	}
	return json.Marshal(entries)
}

// journalEntries decodes a journal record (see journalRecord).
func journalEntries(v []byte) ([]engine.Entry, error) {
	if v = bytes.TrimSpace(v); len(v) > 0 && v[0] == '[' {
		var ens []engine.Entry
		err := json.Unmarshal(v, &ens)
		return ens, err
	}
	var en engine.Entry
	if err := json.Unmarshal(v, &en); err != nil {
		return nil, err
	}
	return []engine.Entry{en}, nil
}

// Journal returns the experiment's journal, oldest entry first: empty for an
// experiment stored before cellar kept one.
func (x *Experiment) Journal() ([]engine.Entry, error) {
	var out []engine.Entry
	err := x.view(func(b *bolt.Bucket) error {
		jb := b.Bucket(bucketJournal)
		if jb == nil {
			return nil
		}
		return jb.ForEach(func(k, v []byte) error {
			ens, err := journalEntries(v)
			if err != nil {
				return damaged(x.db.path, fmt.Sprintf("experiment %d journal record %d: corrupt: %v", x.ID, binary.BigEndian.Uint64(k), err))
			}
			out = append(out, ens...)
			return nil
		})
	})
	return out, err
}

// Trial returns one stored trial.
func (x *Experiment) Trial(id uint64) (engine.Trial, error) {
	var t engine.Trial
	err := x.view(func(b *bolt.Bucket) error {
		v := b.Bucket(bucketTrials).Get(key(id))
		if v == nil {
			return fmt.Errorf("experiment %d has no trial %d", x.ID, id)
		}
		return json.Unmarshal(v, &t)
	})
	return t, err
}
