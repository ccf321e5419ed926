package storage

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"cellar/latency"
)

// bucketLatency holds one latency table per machine, keyed by latency.Machine.Key:
// a table measured on one CPU and thread count says nothing of another.
var bucketLatency = []byte("latency")

// PutLatency stores t as its machine's table, replacing any earlier one.
func (d *DB) PutLatency(t *latency.Table) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return d.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketLatency)
		if err != nil {
			return err
		}
		return b.Put([]byte(t.Machine.Key()), raw)
	})
}

// Latency returns the table of machine m, or nil when there is none.
func (d *DB) Latency(m latency.Machine) (*latency.Table, error) {
	var t *latency.Table
	err := d.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLatency)
		if b == nil {
			return nil
		}
		raw := b.Get([]byte(m.Key()))
		if raw == nil {
			return nil
		}
		t = &latency.Table{}
		if err := json.Unmarshal(raw, t); err != nil {
			return fmt.Errorf("latency table of %s: corrupt: %w", m.Key(), err)
		}
		return nil
	})
	return t, err
}

// LatencyMachines lists the machines the database holds tables for, in key order.
func (d *DB) LatencyMachines() ([]latency.Machine, error) {
	var out []latency.Machine
	err := d.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLatency)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, raw []byte) error {
			var t struct {
				Machine latency.Machine `json:"machine"`
			}
			if err := json.Unmarshal(raw, &t); err != nil {
				return fmt.Errorf("latency table of %s: corrupt: %w", k, err)
			}
			out = append(out, t.Machine)
			return nil
		})
	})
	return out, err
}
