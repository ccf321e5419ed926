package storage

import (
	"encoding/binary"
	"math"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// bucketScores holds data-free zero-cost scores (proxies.DataFree) by key: the space
// with its settings, the proxy and the arch. It is a cache: a search of any space
// pays for an arch's scores once per file, and salvage leaves it behind.
var bucketScores = []byte("scores")

// scoresPerWrite is how many new scores wait before they are written together: one
// transaction (and fsync) for many, where a score costs tens of milliseconds.
const scoresPerWrite = 64

// ScoreCache reads and keeps scores in the file; Save buffers, Flush writes.
type ScoreCache struct {
	d       *DB
	mu      sync.Mutex
	pending map[string]float64
}

// ScoreCache is the file's cache of scores.
func (d *DB) ScoreCache() *ScoreCache { return &ScoreCache{d: d, pending: map[string]float64{}} }

// Load is the score kept under key.
func (c *ScoreCache) Load(key string) (float64, bool) {
	c.mu.Lock()
	v, ok := c.pending[key]
	c.mu.Unlock()
	if ok {
		return v, true
	}
	_ = c.d.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketScores); b != nil {
			if raw := b.Get([]byte(key)); len(raw) == 8 {
				v, ok = math.Float64frombits(binary.BigEndian.Uint64(raw)), true
			}
		}
		return nil
	})
	return v, ok
}

// Save keeps v under key, written with the next scoresPerWrite or at Flush. A file
// opened read-only keeps nothing.
func (c *ScoreCache) Save(key string, v float64) {
	if c.d.readOnly {
		return
	}
	c.mu.Lock()
	c.pending[key] = v
	full := len(c.pending) >= scoresPerWrite
	c.mu.Unlock()
	if full {
		_ = c.Flush() // a cache: a score not written is computed again
	}
}

// Flush writes the scores waiting.
func (c *ScoreCache) Flush() error {
	c.mu.Lock()
	pending := c.pending
	c.pending = map[string]float64{}
	c.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	return c.d.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketScores)
		if err != nil {
			return err
		}
		for k, v := range pending {
			var raw [8]byte
			binary.BigEndian.PutUint64(raw[:], math.Float64bits(v))
			if err := b.Put([]byte(k), raw[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Count is how many scores the file keeps.
func (c *ScoreCache) Count() int {
	n := 0
	_ = c.d.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketScores); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n
}
