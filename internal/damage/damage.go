// Package damage makes damaged copies of a sound database file for tests: every way a
// file the storage tests and the CLI's reliability tests must survive can go wrong.
package damage

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"cellar/internal/boltfile"
)

// Case is one way a file can be damaged.
type Case struct {
	Name string
	// Make writes the damaged file into dir and returns its path.
	Make func(t testing.TB, dir string) string
	// Pages says the damage is to the pages themselves (a page check finds it);
	// byte flips may land inside records instead.
	Pages bool
}

// Corpus is every kind of damage for the sound bbolt file at path: truncations
// (inside the meta pages too), zeroed pages (the root's and the freelist's among
// them, never a free one), random byte flips with fixed seeds, and files that are not
// cellar's at all (empty, text, a directory, a read-only copy, another program's
// bbolt file).
func Corpus(t testing.TB, path string) []Case {
	t.Helper()
	base, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bf, err := boltfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	m := bf.Meta
	free, err := bf.Freelist()
	if err != nil {
		t.Fatal(err)
	}
	ps, pages := m.PageSize, int(m.HWM) // pages past the high-water mark hold nothing
	write := func(b []byte, mode os.FileMode) func(testing.TB, string) string {
		return func(t testing.TB, dir string) string {
			p := filepath.Join(dir, "x.db")
			if err := os.WriteFile(p, b, mode); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	var out []Case
	for _, at := range []int{100, ps + 50, 2 * ps, 4 * ps, pages * ps / 3, pages * ps / 2, (pages - 1) * ps} {
		out = append(out, Case{fmt.Sprintf("truncated to %d bytes", at), write(slices.Clone(base[:at]), 0o600), true})
	}
	zero := func(ids ...int) []byte {
		b := slices.Clone(base)
		for _, p := range ids {
			clear(b[p*ps : (p+1)*ps])
		}
		return b
	}
	out = append(out,
		Case{"meta page 0 zeroed", write(zero(0), 0o600), true},
		Case{"both meta pages zeroed", write(zero(0, 1), 0o600), true},
		Case{fmt.Sprintf("root page %d zeroed", m.Root), write(zero(int(m.Root)), 0o600), true},
		Case{fmt.Sprintf("freelist page %d zeroed", m.Freelist), write(zero(int(m.Freelist)), 0o600), true},
	)
	for _, p := range []int{2, pages / 4, pages / 2, 3 * pages / 4, pages - 2} {
		for slices.Contains(free, uint64(p)) || uint64(p) == m.Root || uint64(p) == m.Freelist {
			p++
		}
		if p < pages {
			out = append(out, Case{fmt.Sprintf("page %d zeroed", p), write(zero(p), 0o600), true})
		}
	}
	for seed := range uint64(6) {
		b := slices.Clone(base)
		rng := rand.New(rand.NewPCG(seed, 7))
		for range 100 {
			b[2*ps+rng.IntN(pages*ps-2*ps)] ^= byte(1 + rng.IntN(255))
		}
		out = append(out, Case{fmt.Sprintf("100 byte flips, seed %d", seed), write(b, 0o600), false})
	}
	out = append(out,
		Case{"zero-length file", write(nil, 0o600), true},
		Case{"text file", write([]byte("arch,test_accuracy\n|none~0|,1\n"), 0o600), true},
		Case{"read-only file", write(base, 0o400), false},
		Case{"directory", func(t testing.TB, dir string) string {
			p := filepath.Join(dir, "x.db")
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			return p
		}, true},
		Case{"another program's bbolt file", func(t testing.TB, dir string) string {
			p := filepath.Join(dir, "x.db")
			b, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			b.Update(func(tx *bolt.Tx) error {
				u, _ := tx.CreateBucket([]byte("users"))
				return u.Put([]byte("ada"), []byte("admin"))
			})
			b.Close()
			return p
		}, true},
	)
	return out
}

// Hash is a file's sha256 (with its mode), a directory's listing, or "missing".
func Hash(t testing.TB, path string) string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	if st.IsDir() {
		ents, _ := os.ReadDir(path)
		return fmt.Sprintf("dir with %d entries", len(ents))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%v %x", st.Mode(), sha256.Sum256(b))
}
