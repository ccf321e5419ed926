package storage

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"cellar/internal/boltfile"
)

// ErrDamaged is wrapped by every error about a file whose pages are damaged.
var ErrDamaged = errors.New("damaged database")

// damaged is the error for a damaged file: what is wrong, and what to do.
func damaged(path, what string) error {
	return fmt.Errorf("%s: %w: %s; `cellar check --db %s` lists what is wrong, `cellar salvage --db %s -o NEW.db` copies what is readable to a new file", path, ErrDamaged, what, path, path)
}

// precheck reads the file's meta pages and freelist without bbolt: enough to know
// bbolt can map and open it. It holds no lock, so the full walk (verify) comes after.
func precheck(path string) error {
	bf, err := boltfile.Open(path)
	if errors.Is(err, boltfile.ErrNotBolt) {
		return fmt.Errorf("open %s: not a cellar database (not a bbolt file)", path)
	}
	if err != nil {
		return damaged(path, err.Error())
	}
	defer bf.Close()
	if _, err := bf.Freelist(); err != nil {
		return damaged(path, err.Error())
	}
	return nil
}

// verify walks every page of the file (see boltfile.File.Walk) and fails if any is
// damaged. It runs on every open, under bbolt's lock: reads after it never meet a
// damaged page, and nothing is written to a file that failed it. A damaged meta
// page fails it too: bbolt would quietly read the transaction before, and the trials
// of the last commit would seem never to have been (salvage copies that state, and
// says so). Records are not decoded here: on a 1M-trial file that takes 3.2 s, the
// walk 0.59 s (BenchmarkCheck, BenchmarkOpen); readers decode what they read and
// name a corrupt record.
func verify(path string) error {
	bf, err := boltfile.Open(path)
	if err != nil {
		return damaged(path, err.Error())
	}
	defer bf.Close()
	state, known := fileState(path, bf.Meta)
	if known && wasVerified(path, state) {
		return nil
	}
	problems := bf.Walk(boltfile.Visitor{})
	if len(problems) > 0 {
		return damaged(path, summarize(problems))
	}
	if known {
		verified.Store(path, state)
	}
	return nil
}

// verified remembers, by path, the state of each file this process last walked
// whole and found sound. The browser opens a file again for every chunk it reads; a
// file no transaction has changed since (the same file, size, mtime and meta txid)
// is not walked again.
var verified sync.Map

type walkedState struct {
	info  os.FileInfo
	size  int64
	mtime time.Time
	txid  uint64
}

func fileState(path string, m boltfile.Meta) (walkedState, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return walkedState{}, false
	}
	return walkedState{info: st, size: st.Size(), mtime: st.ModTime(), txid: m.Txid}, true
}

func wasVerified(path string, s walkedState) bool {
	v, ok := verified.Load(path)
	if !ok {
		return false
	}
	w := v.(walkedState)
	return os.SameFile(w.info, s.info) && w.size == s.size && w.mtime.Equal(s.mtime) && w.txid == s.txid
}

// summarize says the first few problems and how many there are.
func summarize(problems []boltfile.Problem) string {
	const show = 3
	var parts []string
	for i, p := range problems {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(problems)-show))
			break
		}
		parts = append(parts, p.String())
	}
	return strings.Join(parts, "; ")
}

// panicked is a panic inside bbolt, caught by guard.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprintf("bbolt failed reading it: %v", p.value) }

// guard runs f, turning a panic (bbolt asserts on pages it does not expect) or a
// memory fault into an error. verify makes both unlikely; this is the second wall.
func guard(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = panicked{r}
		}
	}()
	return f()
}

// view runs f in a read transaction, guarded.
func (d *DB) view(f func(tx *bolt.Tx) error) error {
	return d.guarded(func() error { return d.bolt.View(f) })
}

// update runs f in a write transaction, guarded (bbolt rolls back on a panic).
func (d *DB) update(f func(tx *bolt.Tx) error) error {
	return d.guarded(func() error { return d.bolt.Update(f) })
}

func (d *DB) guarded(f func() error) error {
	return asDamaged(d.path, guard(f))
}

// asDamaged says a caught panic is damage to path; other errors pass as they are.
func asDamaged(path string, err error) error {
	var p panicked
	if errors.As(err, &p) {
		return damaged(path, p.Error())
	}
	return err
}
