package storage

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"cellar/engine"
)

// SalvageReport says what Salvage copied and what it could not.
type SalvageReport struct {
	Check *Report `json:"check"`
	// Copied counts the trials copied, by experiment id.
	Copied map[uint64]int `json:"copied"`
	// Notes say what was changed to make the copy consistent.
	Notes []string `json:"notes,omitempty"`
}

// Salvage copies every readable part of the cellar file src (experiments, trials,
// checkpoints, journal entries, latency tables) into the new file dst, keeping every
// id, and reports what it could not read. It reads src page by page without bbolt
// and never writes to it; dst must not exist. The trials it copies are exactly those
// Check counts readable.
func Salvage(src, dst string) (*SalvageReport, error) {
	if _, err := os.Stat(dst); err == nil {
		return nil, fmt.Errorf("%s exists; salvage writes a new file only", dst)
	}
	im, err := readImage(src, true)
	if err != nil {
		return nil, err
	}
	report := im.report()
	out := &SalvageReport{Check: report, Copied: map[uint64]int{}}
	db, err := Open(dst, time.Second)
	if err != nil {
		return nil, err
	}
	err = db.update(func(tx *bolt.Tx) error {
		exps := tx.Bucket(bucketExperiments)
		if err := exps.SetSequence(max(im.expSeq, maxKey(im.exps))); err != nil {
			return err
		}
		for _, id := range slices.Sorted(maps.Keys(im.exps)) {
			n, notes, err := im.exps[id].copyTo(exps)
			if err != nil {
				return fmt.Errorf("experiment %d: %w", id, err)
			}
			out.Copied[id] = n
			out.Notes = append(out.Notes, notes...)
		}
		if len(im.latency) == 0 {
			return nil
		}
		lb, err := tx.CreateBucketIfNotExists(bucketLatency)
		if err != nil {
			return err
		}
		for k, v := range im.latency {
			var t any
			if json.Unmarshal(v, &t) != nil {
				continue
			}
			if err := lb.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.Check()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return nil, fmt.Errorf("salvage into %s: %w", dst, err)
	}
	return out, nil
}

// copyTo writes the experiment's readable parts into a bucket of exps under its id.
func (x *expImage) copyTo(exps *bolt.Bucket) (int, []string, error) {
	var notes []string
	b, err := exps.CreateBucket(key(x.id))
	if err != nil {
		return 0, nil, err
	}
	for _, k := range []string{string(keyConfig), string(keyName), string(keyCreated), string(keyIdentity)} {
		if v, ok := x.fields[k]; ok {
			if err := b.Put([]byte(k), v); err != nil {
				return 0, nil, err
			}
		}
	}
	tb, err := b.CreateBucket(bucketTrials)
	if err != nil {
		return 0, nil, err
	}
	tb.FillPercent = appendFill // written in key order, as a search does
	readable := x.readable
	for _, id := range slices.Sorted(maps.Keys(readable)) {
		if err := tb.Put(key(id), x.trials[id]); err != nil {
			return 0, nil, err
		}
	}
	cp, cpErr := x.checkpoint()
	switch {
	case cpErr == nil && cp != nil:
		if err := b.Put(keyCheckpoint, x.fields[string(keyCheckpoint)]); err != nil {
			return 0, nil, err
		}
		for k, v := range x.fields { // the large states go with the checkpoint they belong to
			if strings.HasPrefix(k, largePrefix) {
				if err := b.Put([]byte(k), v); err != nil {
					return 0, nil, err
				}
			}
		}
	case len(readable) > 0:
		// Without its checkpoint a resume would start again at trial 1 over the
		// stored ones: mark the copy finished, so resume refuses and fork continues.
		raw, _ := json.Marshal(finishedCheckpoint(maxKey(readable) + 1))
		if err := b.Put(keyCheckpoint, raw); err != nil {
			return 0, nil, err
		}
		notes = append(notes, fmt.Sprintf("experiment %d: its checkpoint was unreadable; the copy is marked finished (fork it to go on)", x.id))
	}
	jb, err := b.CreateBucket(bucketJournal)
	if err != nil {
		return 0, nil, err
	}
	jb.FillPercent = appendFill
	if err := jb.SetSequence(max(x.journalSeq, maxKey(x.journal))); err != nil {
		return 0, nil, err
	}
	for _, seq := range slices.Sorted(maps.Keys(x.journal)) {
		var v any
		if json.Unmarshal(x.journal[seq], &v) != nil {
			continue
		}
		if err := jb.Put(key(seq), x.journal[seq]); err != nil {
			return 0, nil, err
		}
	}
	return len(readable), notes, nil
}

func finishedCheckpoint(next uint64) engine.Checkpoint {
	return engine.Checkpoint{NextID: next, Finished: true}
}
