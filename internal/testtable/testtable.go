// Package testtable writes small synthetic benchmark tables for tests that must run
// everywhere, without the reference data beside the repository.
package testtable

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cellar/spaces"
)

// NB201 writes a table of every NAS-Bench-201 cell (15,625 rows) with a
// test_accuracy column given by score, and returns its path.
func NB201(tb testing.TB, score func(spaces.NB201Arch) float64) string {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString("arch,test_accuracy\n")
	var a spaces.NB201Arch
	var fill func(i int)
	fill = func(i int) {
		if i == len(a) {
			fmt.Fprintf(&b, "%s,%g\n", a, score(a))
			return
		}
		for op := range spaces.NB201Ops {
			a[i] = uint8(op)
			fill(i + 1)
		}
	}
	fill(0)
	// Not tb.TempDir: a subtest's name (with braces and commas) would end up in a
	// path that experiments write unquoted in YAML.
	dir, err := os.MkdirTemp("", "cellar-table-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "nb201-synthetic.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Convs scores a cell by its convolutions, capped at 3: thousands of cells tie, so
// a search meets ties at once.
func Convs(a spaces.NB201Arch) float64 {
	n := strings.Count(a.String(), "conv")
	return float64(min(n, 3)) * 10
}

// Smooth scores a cell with few ties: convolutions count most, and each edge's op
// adds a little, so a search has something to climb.
func Smooth(a spaces.NB201Arch) float64 {
	v := 50.0
	for i, op := range a {
		switch spaces.NB201Ops[op] {
		case "nor_conv_3x3":
			v += 6
		case "nor_conv_1x1":
			v += 4
		case "skip_connect":
			v += 1
		}
		v += float64(op) * float64(i+1) * 0.01
	}
	return v
}

// Write writes content as a table file in the test's temporary directory and returns
// its path: for tables a test spells out, malformed ones included.
func Write(tb testing.TB, content string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "t.csv")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}
