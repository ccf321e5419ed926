package evaluators

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"

	"cellar/engine"
	"cellar/latency"
	"cellar/spaces"
)

// TableOptions configure the table evaluator.
type TableOptions struct {
	Path    string `yaml:"path"`        // a CSV file with a header row, or a built-in table's name
	ArchCol string `yaml:"arch_column"` // the column of architecture strings ("arch")
}

// Table looks architectures up in a tabular benchmark: a CSV with an arch column and
// numeric metric columns, such as NAS-Bench-201's. It is read once; lookups are safe
// from many goroutines.
type Table struct {
	path    string
	metrics []string
	index   map[string]int // canonical arch string -> row
	values  [][]float64    // row -> metric values, in metrics order
}

// LoadTable reads a table whose archs belong to space. Every arch is parsed, so the
// index is keyed by canonical strings; a bad row, a missing column or a duplicate
// arch is an error naming the line. A path that is a built-in table's name
// (BuiltinTableNames) reads that table.
func LoadTable(path string, space spaces.Space, archCol string) (*Table, error) {
	if b, ok := builtinTables[path]; ok {
		return loadBuiltin(path, b, space, archCol)
	}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("table: %w", err)
	case !st.Mode().IsRegular(): // a pipe waits for ever, a device reads without end
		return nil, fmt.Errorf("table: %s is not a regular file (%v); give a CSV file", path, st.Mode().Type())
	case st.Size() > maxTableBytes:
		return nil, fmt.Errorf("table: %s is %d MB; a table is read whole into memory, up to %d MB", path, st.Size()>>20, maxTableBytes>>20)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	defer f.Close()
	return ReadTable(io.LimitReader(f, maxTableBytes), path, space, archCol)
}

// maxTableBytes bounds a table file: NAS-Bench-201's is 1.5 MB; a million archs with
// a dozen metrics fit well within it.
const maxTableBytes = 512 << 20

// ReadTable reads a table as LoadTable does, from in; path names it in errors. A
// UTF-8 byte-order mark (spreadsheets write one) is skipped.
func ReadTable(in io.Reader, path string, space spaces.Space, archCol string) (*Table, error) {
	if archCol == "" {
		archCol = "arch"
	}
	br := bufio.NewReader(in)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.ReuseRecord = true
	header, err := r.Read()
	header = append([]string(nil), header...) // ReuseRecord: the next Read overwrites it
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("table %s: empty file; expected a header row such as arch,test_accuracy", path)
		}
		return nil, fmt.Errorf("table %s: %w", path, err)
	}
	archAt := -1
	t := &Table{path: path, index: map[string]int{}}
	var metricCols []int
	seen := map[string]int{}
	for i, h := range header {
		if j, dup := seen[h]; dup {
			return nil, fmt.Errorf("table %s: column %q appears twice in the header (columns %d and %d)", path, h, j+1, i+1)
		}
		seen[h] = i
		if h == archCol {
			archAt = i
		} else {
			t.metrics = append(t.metrics, h)
			metricCols = append(metricCols, i)
		}
	}
	if archAt < 0 {
		return nil, fmt.Errorf("table %s: no %q column in the header %v", path, archCol, header)
	}
	if len(t.metrics) == 0 {
		return nil, fmt.Errorf("table %s: no metric columns beside %q", path, archCol)
	}
	firstLine := map[string]int{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", path, err)
		}
		a, err := space.Parse([]byte(rec[archAt]))
		if err != nil {
			return nil, fmt.Errorf("table %s line %d: %w", path, line, err)
		}
		key := a.String()
		if prev, dup := firstLine[key]; dup {
			return nil, fmt.Errorf("table %s line %d: arch %s is also on line %d", path, line, key, prev)
		}
		firstLine[key] = line
		row := make([]float64, len(metricCols))
		for j, c := range metricCols {
			v, err := strconv.ParseFloat(rec[c], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("table %s line %d column %s: %q is not a finite number", path, line, header[c], rec[c])
			}
			row[j] = v
		}
		t.index[key] = len(t.values)
		t.values = append(t.values, row)
	}
	if len(t.values) == 0 {
		return nil, fmt.Errorf("table %s: no rows after the header", path)
	}
	return t, nil
}

func (t *Table) Metrics() []string { return t.metrics }

// Len is the number of archs in the table.
func (t *Table) Len() int { return len(t.values) }

// Archs are the table's archs in their canonical string form, sorted.
func (t *Table) Archs() []string { return slices.Sorted(maps.Keys(t.index)) }

// Lookup returns an arch's row, or false when the table lacks it.
func (t *Table) Lookup(arch spaces.Arch) (map[string]float64, bool) {
	i, ok := t.index[arch.String()]
	if !ok {
		return nil, false
	}
	m := make(map[string]float64, len(t.metrics))
	for j, name := range t.metrics {
		m[name] = t.values[i][j]
	}
	return m, true
}

// Best returns the best value of a metric over the whole table.
func (t *Table) Best(metric string, maximise bool) (float64, error) {
	j := -1
	for k, m := range t.metrics {
		if m == metric {
			j = k
		}
	}
	if j < 0 {
		return 0, fmt.Errorf("table %s has no metric %q (it has %v)", t.path, metric, t.metrics)
	}
	best := t.values[0][j]
	for _, row := range t.values {
		if (maximise && row[j] > best) || (!maximise && row[j] < best) {
			best = row[j]
		}
	}
	return best, nil
}

func (t *Table) Evaluate(ctx context.Context, job engine.Job, _ func(engine.Progress)) (engine.Outcome, error) {
	arch := job.Arch
	m, ok := t.Lookup(arch)
	if !ok {
		return engine.Outcome{}, fmt.Errorf("arch %s is not in table %s", arch, t.path)
	}
	return engine.Outcome{Metrics: m}, nil
}

// Bounds are the best (ideal) and worst values of each objective over every arch of
// the table; params, flops and latency (with lat, the machine's latency table), where
// the table has no such column, come from the IR.
func (t *Table) Bounds(space spaces.Space, objs []engine.Objective, lat *latency.Table) (ideal, worst []float64, err error) {
	measured := engine.Measures(lat)
	ideal, worst = make([]float64, len(objs)), make([]float64, len(objs))
	for i, o := range objs {
		ideal[i], worst[i] = math.Inf(-1), math.Inf(1)
		if !o.Maximise() {
			ideal[i], worst[i] = math.Inf(1), math.Inf(-1)
		}
	}
	col := func(name string) int { return slices.Index(t.metrics, name) }
	for key, row := range t.index {
		var net *spaces.Net
		for i, o := range objs {
			var v float64
			if c := col(o.Name); c >= 0 {
				v = t.values[row][c]
			} else if m, ok := measured[o.Name]; ok {
				if net == nil {
					a, err := space.Parse([]byte(key))
					if err != nil {
						return nil, nil, err
					}
					if net, err = space.Network(a); err != nil {
						return nil, nil, err
					}
				}
				v = m.Measure(net)
			} else if o.Name == "latency" {
				return nil, nil, engine.ErrNoLatencyTable
			} else {
				return nil, nil, fmt.Errorf("%s has no column %q", t.path, o.Name)
			}
			if o.Maximise() {
				ideal[i], worst[i] = math.Max(ideal[i], v), math.Min(worst[i], v)
			} else {
				ideal[i], worst[i] = math.Min(ideal[i], v), math.Max(worst[i], v)
			}
		}
	}
	return ideal, worst, nil
}
