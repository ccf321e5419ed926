package proxies

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"cellar/spaces"
)

// The data-free scores of every cell of NAS-Bench-201 at the benchmark's settings
// (spaces.DefaultNB201), computed once (TestBuiltInNB201Scores regenerates them) so
// that a benchmark or a search on NB201 pays nothing for them: synflow costs ~60 ms a
// network, a thousand times a rank query. One line per cell, in spaces.NB201Cell
// order, after a header naming the proxies.
//
//go:embed nb201_zerocost.csv.gz
var nb201ZeroCostGz []byte

// builtInProxies are the proxies the embedded table holds, its columns.
var builtInProxies = []string{"synflow", "live_params"}

var nb201Builtin struct {
	once   sync.Once
	scores map[string][]float64 // by proxy, indexed by NB201Arch.Index
	err    error
}

// builtIn is a's score under proxy from the embedded table, when space is NB201 at
// the benchmark's settings and the table holds proxy.
func builtIn(space spaces.Space, proxy string, a spaces.Arch) (float64, bool) {
	nb, ok := spaces.Base(space).(*spaces.NB201)
	if !ok || nb.Settings() != spaces.DefaultNB201 {
		return 0, false
	}
	cell, ok := a.(spaces.NB201Arch)
	if !ok {
		return 0, false
	}
	nb201Builtin.once.Do(func() { nb201Builtin.scores, nb201Builtin.err = readBuiltIn(nb201ZeroCostGz) })
	col, ok := nb201Builtin.scores[proxy]
	if !ok {
		return 0, false
	}
	return col[cell.Index()], true
}

// readBuiltIn reads the embedded table. An error is a broken build, which
// TestBuiltInNB201Scores catches.
func readBuiltIn(gz []byte) (map[string][]float64, error) {
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return nil, fmt.Errorf("nb201 zero-cost table: empty")
	}
	names := strings.Split(sc.Text(), ",")
	out := map[string][]float64{}
	for _, n := range names {
		out[n] = make([]float64, 0, spaces.NB201Cells)
	}
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) != len(names) {
			return nil, fmt.Errorf("nb201 zero-cost table: line %q", sc.Text())
		}
		for i, n := range names {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("nb201 zero-cost table: %w", err)
			}
			out[n] = append(out[n], v)
		}
	}
	for n, col := range out {
		if len(col) != spaces.NB201Cells {
			return nil, fmt.Errorf("nb201 zero-cost table: %d %s scores, not %d", len(col), n, spaces.NB201Cells)
		}
	}
	return out, sc.Err()
}
