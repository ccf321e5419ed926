// Package refdata finds the reference data that tests and benchmarks read from the
// shared folder beside the repository (../shared/data), which is never copied into it.
package refdata

import (
	"os"
	"path/filepath"
	"testing"
)

// NB201CIFAR10 is the path of the NAS-Bench-201 CIFAR-10 table inside shared/.
const NB201CIFAR10 = "data/nb201/cifar10.csv"

// Find looks for shared/<rel> in the working directory's ancestors, or under
// $CELLAR_SHARED when set, and returns its path or "".
func Find(rel string) string {
	if dir := os.Getenv("CELLAR_SHARED"); dir != "" {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, "shared", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Require returns the path of shared/<rel> or skips the test, saying what is missing.
func Require(tb testing.TB, rel string) string {
	tb.Helper()
	p := Find(rel)
	if p == "" {
		tb.Skipf("reference data shared/%s not found beside the repository (or under $CELLAR_SHARED); skipping", rel)
	}
	return p
}
