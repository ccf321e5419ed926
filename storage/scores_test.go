package storage

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// Scores saved are read back, from the buffer and, after Flush or a full buffer,
// from the file once reopened; a read-only file keeps none.
func TestScoreCacheKeepsScoresInTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	d, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := d.ScoreCache()
	c.Save("nb201\x00synflow\x00a", 57.5)
	if v, ok := c.Load("nb201\x00synflow\x00a"); !ok || v != 57.5 {
		t.Errorf("from the buffer: %v %v", v, ok)
	}
	for i := range scoresPerWrite { // a full buffer is written by itself
		c.Save(fmt.Sprint("k", i), float64(i))
	}
	c.Save("last", -1)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	d.Close()
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	rc := ro.ScoreCache()
	for key, want := range map[string]float64{"nb201\x00synflow\x00a": 57.5, "k7": 7, "last": -1} {
		if v, ok := rc.Load(key); !ok || v != want {
			t.Errorf("%q from the file: %v %v, want %v", key, v, ok, want)
		}
	}
	if _, ok := rc.Load("never"); ok {
		t.Error("a key never saved was found")
	}
	rc.Save("x", 1)
	if err := rc.Flush(); err != nil {
		t.Errorf("a read-only file's cache: %v", err)
	}
}
