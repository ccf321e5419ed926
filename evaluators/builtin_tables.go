package evaluators

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"maps"
	"slices"

	"cellar/spaces"
)

// The NAS-Bench-201 CIFAR-10 table, gzipped: all 15,625 cells of the NB201 space and
// their test accuracy after 200 epochs, averaged over the benchmark's seeds (columns
// arch,test_accuracy). Source: NATS-Bench's topology space (Dong et al., TPAMI 2021,
// MIT licence), as exported to CSV by v-tao/nats-bench-landscape. It is embedded so
// that table searches and `cellar bench --table nb201` work on a fresh machine.
//
//go:embed tables/nb201-cifar10.csv.gz
var nb201CIFAR10 []byte

// builtinTable is a table that ships inside cellar (docs/experiments.md says what its
// columns are and where the data comes from).
type builtinTable struct {
	space   string // the space its archs belong to
	gzipped []byte
}

// builtinTables are the tables a table path may name instead of a file.
var builtinTables = map[string]builtinTable{
	"nb201": {space: "nb201", gzipped: nb201CIFAR10},
}

// BuiltinTableNames are the names of the built-in tables, sorted. A table path equal
// to one of them means that table, never a file of that name (write ./nb201 for one).
func BuiltinTableNames() []string { return slices.Sorted(maps.Keys(builtinTables)) }

// loadBuiltin reads a built-in table whose archs belong to space.
func loadBuiltin(name string, b builtinTable, space spaces.Space, archCol string) (*Table, error) {
	if space.Name() != b.space {
		return nil, fmt.Errorf("table %s: the built-in table holds %s archs, not %s ones", name, b.space, space.Name())
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.gzipped))
	if err != nil {
		return nil, fmt.Errorf("table %s (built in): %w", name, err)
	}
	defer zr.Close()
	return ReadTable(zr, name+" (built in)", space, archCol)
}
