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

// BuiltinTable is a table that ships inside cellar.
type BuiltinTable struct {
	Space   string // the space its archs belong to
	About   string // its columns and where the data comes from, for people
	gzipped []byte
}

// builtinTables are the tables a table path may name instead of a file.
var builtinTables = map[string]BuiltinTable{
	"nb201": {
		Space:   "nb201",
		About:   "NAS-Bench-201 CIFAR-10: 15,625 archs; test_accuracy = % after 200 epochs, mean over seeds (NATS-Bench, Dong et al. 2021)",
		gzipped: nb201CIFAR10,
	},
}

// BuiltinTableNames are the names of the built-in tables, sorted. A table path equal
// to one of them means that table, never a file of that name (write ./nb201 for one).
func BuiltinTableNames() []string { return slices.Sorted(maps.Keys(builtinTables)) }

// LookupBuiltinTable returns the built-in table of that name.
func LookupBuiltinTable(name string) (BuiltinTable, bool) {
	t, ok := builtinTables[name]
	return t, ok
}

// loadBuiltin reads a built-in table whose archs belong to space.
func loadBuiltin(name string, b BuiltinTable, space spaces.Space, archCol string) (*Table, error) {
	if space.Name() != b.Space {
		return nil, fmt.Errorf("table %s: the built-in table holds %s archs, not %s ones", name, b.Space, space.Name())
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.gzipped))
	if err != nil {
		return nil, fmt.Errorf("table %s (built in): %w", name, err)
	}
	defer zr.Close()
	return ReadTable(zr, name+" (built in)", space, archCol)
}
