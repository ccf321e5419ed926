package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"cellar/internal/boltfile"
)

// OpenSnapshot opens path for reading, as OpenReadOnly does, and when a search holds
// the file (bbolt's write lock keeps readers out) reads a snapshot instead: a copy
// of the file as of the search's last commit, in the temporary folder, removed on
// Close. Read commands (trials, show, audit, export) so work while a search runs;
// Snapshot says when a DB is one.
func OpenSnapshot(path string, timeout time.Duration) (*DB, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return OpenReadOnly(path, timeout) // which says what it is, before anything opens it
	}
	var err error
	if lockedByWriter(path) { // a search holds its lock for as long as it runs: no wait
		err = fmt.Errorf("open %s: %w%s", path, ErrInUse, holder(path))
	} else {
		var d *DB
		if d, err = OpenReadOnly(path, timeout); !errors.Is(err, ErrInUse) {
			return d, err
		}
	}
	tmp, serr := snapshot(path)
	if serr != nil {
		return nil, fmt.Errorf("%w; and no snapshot of it could be read: %v", err, serr)
	}
	d, err := OpenReadOnly(tmp, timeout)
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("snapshot of %s: %w", path, err)
	}
	// Paths derived from the DB's (files kept beside it) and its errors name the
	// original; Close removes the copy.
	d.path, d.snapshot, d.snapshotFile = path, time.Now(), tmp
	return d, nil
}

// Snapshot is when the DB was copied, for a DB that OpenSnapshot read as a copy
// (zero otherwise): what it shows stops at the search's commit before that.
func (d *DB) Snapshot() time.Time { return d.snapshot }

// snapshotPatience bounds how long copies are taken again because the search
// committed while each was being taken. A search commits when trials finish: a copy
// (about 3 ms for 10 MB here) fits between the commits of any search but one whose
// trials take milliseconds, which is done in seconds anyway.
const snapshotPatience = 10 * time.Second

// snapshot copies path, which a search is writing, into a temporary file that holds
// exactly one of its commits, and returns the copy's path.
//
// bbolt never writes over the pages of the last commit (T) until the transaction
// after the next one (T+2) begins: T+1 writes only pages freed before T. So a copy
// taken while the file's newest meta stays at T, before and after the copy, holds
// T's tree intact, whatever T+1 wrote meanwhile. T+1 may have written its meta page
// into the copy with a torn tree, so the copy's other meta page is made T's too:
// bbolt and the checks then read T. A copy during which the search committed is
// taken again.
func snapshot(path string) (string, error) {
	deadline := time.Now().Add(snapshotPatience)
	for try := 0; time.Now().Before(deadline); try++ {
		before, err := newestMeta(path)
		if err != nil {
			return "", err
		}
		tmp, err := copyFile(path)
		if err != nil {
			return "", err
		}
		if afterCopy != nil {
			afterCopy()
		}
		after, err := newestMeta(path)
		if err == nil && after.Txid == before.Txid {
			if err = pinMeta(tmp, before); err == nil {
				return tmp, nil
			}
		}
		os.Remove(tmp)
		if err != nil {
			return "", err
		}
		time.Sleep(time.Duration(try%10) * time.Millisecond) // let a burst of commits pass
	}
	return "", fmt.Errorf("the search committed during every copy for %v; try again", snapshotPatience)
}

// afterCopy, when set (by tests), runs after each copy: a commit there must make the
// copy be taken again.
var afterCopy func()

func newestMeta(path string) (boltfile.Meta, error) {
	bf, err := boltfile.Open(path)
	if err != nil {
		return boltfile.Meta{}, err
	}
	defer bf.Close()
	return bf.Meta, nil
}

// copyFile copies path into a new temporary file and returns its path.
func copyFile(path string) (string, error) {
	in, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp("", "cellar-snapshot-*.db")
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", fmt.Errorf("snapshot: %w", err)
	}
	return out.Name(), nil
}

// pinMeta makes both meta pages of the copy at path say m, the commit the copy holds.
func pinMeta(path string, m boltfile.Meta) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	page := make([]byte, m.PageSize)
	if _, err := f.ReadAt(page, int64(m.Page)*int64(m.PageSize)); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	other := 1 - m.Page
	boltfile.SetPageID(page, other)
	if _, err := f.WriteAt(page, int64(other)*int64(m.PageSize)); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	bf, err := boltfile.New(f, st.Size())
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if bf.Meta.Txid != m.Txid || len(bf.MetaProblems) > 0 {
		return fmt.Errorf("snapshot: its metas read txid %d, not %d", bf.Meta.Txid, m.Txid)
	}
	return nil
}
