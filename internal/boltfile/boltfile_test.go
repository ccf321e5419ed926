package boltfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// build writes a bbolt file with nested, inline and large buckets, values that
// overflow a page, and some deleted keys (so the freelist holds pages).
func build(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "x.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		top, _ := tx.CreateBucket([]byte("top"))
		top.Put([]byte("a"), []byte("1"))
		inline, _ := top.CreateBucket([]byte("inline"))
		inline.Put([]byte("k"), []byte("v"))
		big, _ := top.CreateBucket([]byte("big"))
		for i := range 3000 {
			k := make([]byte, 8)
			binary.BigEndian.PutUint64(k, uint64(i+1))
			big.Put(k, bytes.Repeat([]byte{byte(i)}, 100+i%50))
		}
		big.SetSequence(3000)
		big.Put([]byte("huge"), bytes.Repeat([]byte("x"), 20000))
		_, err := tx.CreateBucket([]byte("empty"))
		return err
	})
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error {
			big := tx.Bucket([]byte("top")).Bucket([]byte("big"))
			for i := 100; i < 400; i++ {
				k := make([]byte, 8)
				binary.BigEndian.PutUint64(k, uint64(i+1))
				big.Delete(k)
			}
			return nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

// bboltView lists every key/value bbolt itself reads, as "path|key|value-hash".
func bboltView(t *testing.T, path string) []string {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	var walk func(prefix string, b *bolt.Bucket)
	walk = func(prefix string, b *bolt.Bucket) {
		b.ForEach(func(k, v []byte) error {
			if v == nil {
				walk(prefix+"/"+string(k), b.Bucket(k))
				return nil
			}
			out = append(out, fmt.Sprintf("%s|%x|%x", prefix, k, sha256.Sum256(v)))
			return nil
		})
	}
	db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { walk("/"+string(name), b); return nil })
	})
	sort.Strings(out)
	return out
}

func ourView(bf *File) ([]string, []Problem) {
	var out []string
	problems := bf.Walk(Visitor{Value: func(path [][]byte, k, v []byte) {
		out = append(out, fmt.Sprintf("/%s|%x|%x", bytes.Join(path, []byte("/")), k, sha256.Sum256(v)))
	}})
	sort.Strings(out)
	return out, problems
}

func TestWalkReadsWhatBboltReads(t *testing.T) {
	path := build(t, t.TempDir())
	bf, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	got, problems := ourView(bf)
	if len(problems) > 0 {
		t.Fatalf("problems in a sound file: %v", problems)
	}
	want := bboltView(t, path)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("walk read %d records, bbolt %d; first: %v vs %v", len(got), len(want), got[:min(3, len(got))], want[:min(3, len(want))])
	}
	free, err := bf.Freelist()
	if err != nil || len(free) == 0 {
		t.Fatalf("freelist: %v %v (the deletes should have freed pages)", free, err)
	}
	var seq uint64
	bf.Walk(Visitor{Bucket: func(path [][]byte, s uint64) {
		if string(path[len(path)-1]) == "big" {
			seq = s
		}
	}})
	if seq != 3000 {
		t.Fatalf("bucket sequence %d, want 3000", seq)
	}
}

func TestDamageIsReportedNotFatal(t *testing.T) {
	dir := t.TempDir()
	path := build(t, dir)
	orig, _ := os.ReadFile(path)
	bf, _ := Open(path)
	defer bf.Close()
	ps := bf.Meta.PageSize
	pages := int(bf.Meta.HWM)
	cases := map[string]func([]byte) []byte{
		"truncated inside meta":   func(b []byte) []byte { return b[:100] },
		"truncated after metas":   func(b []byte) []byte { return b[:3*ps] },
		"truncated at half":       func(b []byte) []byte { return b[:len(b)/2] },
		"both metas zeroed":       func(b []byte) []byte { clear(b[:2*ps]); return b },
		"meta 0 zeroed":           func(b []byte) []byte { clear(b[:ps]); return b },
		"root page zeroed":        func(b []byte) []byte { r := rootOf(b); clear(b[r*ps : (r+1)*ps]); return b },
		"zero-length":             func(b []byte) []byte { return nil },
		"not bolt":                func(b []byte) []byte { return []byte("hello, world, this is not a database at all") },
		"every page header flips": func(b []byte) []byte { flipHeaders(b, ps); return b },
	}
	free, _ := bf.Freelist()
	isFree := map[int]bool{}
	for _, id := range free {
		isFree[int(id)] = true
	}
	for p := 2; p < pages; p += 3 {
		if isFree[p] {
			continue // a free page holds nothing to lose
		}
		cases[fmt.Sprintf("page %d zeroed", p)] = func(b []byte) []byte { clear(b[p*ps : (p+1)*ps]); return b }
	}
	for seed := range uint64(20) {
		cases[fmt.Sprintf("100 random flips, seed %d", seed)] = func(b []byte) []byte {
			rng := rand.New(rand.NewPCG(seed, 1))
			for range 100 {
				b[2*ps+rng.IntN(len(b)-2*ps)] ^= byte(1 + rng.IntN(255))
			}
			return b
		}
	}
	sound, _ := ourView(mustNew(t, orig))
	for name, damage := range cases {
		b := damage(bytes.Clone(orig))
		bf, err := New(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue // refused at the metas: fine, and said
		}
		got, problems := ourView(bf)
		if bytes.Equal(b, orig) {
			continue
		}
		// Whatever was damaged, every record the walk returns is one the sound file
		// holds, unless the damage hit that record's bytes (then a problem or a changed
		// value may be all there is to see).
		if len(problems) == 0 && len(got) == len(sound) && strings.Join(got, "") == strings.Join(sound, "") {
			if name != "meta 0 zeroed" && !strings.Contains(name, "flips") {
				t.Errorf("%s: damage not noticed", name)
			}
		}
	}
}

func mustNew(t *testing.T, b []byte) *File {
	bf, err := New(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return bf
}

func rootOf(b []byte) int {
	bf, _ := New(bytes.NewReader(b), int64(len(b)))
	return int(bf.Meta.Root)
}

func flipHeaders(b []byte, ps int) {
	for p := 2; (p+1)*ps <= len(b); p++ {
		b[p*ps+10] ^= 0x7f // the element count
	}
}

func TestTruncationNamesSizes(t *testing.T) {
	path := build(t, t.TempDir())
	b, _ := os.ReadFile(path)
	_, err := New(bytes.NewReader(b[:16384]), 16384)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v, want a truncation error", err)
	}
	_, err = New(bytes.NewReader(nil), 0)
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("got %v for an empty file", err)
	}
}

func FuzzWalk(f *testing.F) {
	path := build(f, f.TempDir())
	b, _ := os.ReadFile(path)
	f.Add(b[:4*4096])
	f.Add(b[:2*4096])
	f.Fuzz(func(t *testing.T, b []byte) {
		bf, err := New(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		bf.Walk(Visitor{Value: func([][]byte, []byte, []byte) {}, Bucket: func([][]byte, uint64) {}})
	})
}

func TestAFreelistCountOfAnySizeIsAnError(t *testing.T) {
	path := build(t, t.TempDir())
	b, _ := os.ReadFile(path)
	bf := mustNew(t, b)
	at := int(bf.Meta.Freelist) * bf.Meta.PageSize
	for _, n := range []uint64{1 << 62, 1<<63 + 5, ^uint64(0), uint64(len(b))} {
		c := bytes.Clone(b)
		binary.LittleEndian.PutUint16(c[at+10:], 0xFFFF) // the count is in the first entry
		binary.LittleEndian.PutUint64(c[at+16:], n)
		if _, err := mustNew(t, c).Freelist(); err == nil || !strings.Contains(err.Error(), "do not fit") {
			t.Errorf("count %d: %v", n, err)
		}
	}
}
