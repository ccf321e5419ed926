package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"cellar/groundtruth"
	"cellar/internal/atomicfile"
	"cellar/spaces"
	"cellar/strategies"
)

// dartsSettingColumns are the bench darts CSV's columns that say how a seed was run,
// each with the flag that sets it. A CSV is continued only by a run whose settings
// are the same, so that one file never mixes two experiments.
var dartsSettingColumns = []struct{ column, flag string }{
	{"method", "--aux-skip / --dirichlet"},
	{"epochs", "--epochs"},
	{"order", "--order"},
	{"darts_train", "--darts-train"},
	{"darts_val", "--darts-val"},
	{"dirichlet_kl", "--dirichlet-kl"},
	{"dataset", "--dataset"},
	{"train", "--train"},
	{"channels", "--channels"},
	{"depth", "--depth"},
	{"train_epochs", "--train-epochs"},
	{"train_seeds", "--train-seeds"},
}

// DartsResultColumns follow the settings: what the seed gave. skips and beats are
// derived (from the arch, and from the ground truth at the time) and written for
// readers of the file; a continued run recomputes them.
var DartsResultColumns = []string{"arch", "skips", "accuracy", "beats", "seconds"}

// dartsSettings are the values of dartsSettingColumns for one run, in their order.
func DartsSettings(method string, opt strategies.DartsOptions, gt groundtruth.Options) []string {
	dirichletKL := ""
	if opt.Dirichlet {
		dirichletKL = strconv.FormatFloat(opt.DirichletKL, 'g', -1, 64)
	}
	return []string{method, strconv.Itoa(opt.Epochs), strconv.Itoa(opt.Order), strconv.Itoa(opt.Train), strconv.Itoa(opt.Val),
		dirichletKL, gt.Dataset, strconv.Itoa(gt.Train), strconv.Itoa(gt.Channels), strconv.Itoa(gt.Depth),
		strconv.Itoa(gt.Epochs), strconv.Itoa(gt.Seeds)}
}

// DartsCSVHeader is the bench darts CSV's first line.
func DartsCSVHeader() []string {
	h := []string{"seed"}
	for _, c := range dartsSettingColumns {
		h = append(h, c.column)
	}
	return append(h, DartsResultColumns...)
}

// ReadDartsCSV reads the seeds a bench darts CSV holds, checking each was run with
// settings; a missing file holds none. Errors name the file, the line and what is
// wrong, and a seed run with other settings names the flag that differs.
func ReadDartsCSV(path string, sp spaces.Space, settings []string) (map[int]DartsResult, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[int]DartsResult{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseDartsCSV(b, path, sp, settings)
}

// ParseDartsCSV reads the bench darts CSV b (from path, for errors), as ReadDartsCSV.
func ParseDartsCSV(b []byte, path string, sp spaces.Space, settings []string) (map[int]DartsResult, error) {
	r := csv.NewReader(bytes.NewReader(b))
	header := DartsCSVHeader()
	r.FieldsPerRecord = -1 // the header is checked as a whole, then every line against it
	got, err := r.Read()
	if err == io.EOF {
		return map[int]DartsResult{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--csv %s: %w", path, err)
	}
	if !slices.Equal(got, header) {
		return nil, fmt.Errorf("--csv %s: not a bench darts CSV: its first line is %q, where %q was expected", path, strings.Join(got, ","), strings.Join(header, ","))
	}
	r.FieldsPerRecord = len(header)
	rows := map[int]DartsResult{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("--csv %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		bad := func(format string, a ...any) error {
			return fmt.Errorf("--csv %s: line %d: %s", path, line, fmt.Sprintf(format, a...))
		}
		seed, err := strconv.Atoi(rec[0])
		if err != nil || seed < 1 {
			return nil, bad("seed %q is not a whole number from 1", rec[0])
		}
		if _, dup := rows[seed]; dup {
			return nil, bad("seed %d appears twice", seed)
		}
		for i, c := range dartsSettingColumns {
			if v := rec[1+i]; v != settings[i] {
				return nil, bad("seed %d was run with %s %q (%s), this run has %q: give the same flags to go on, or another --csv", seed, c.column, v, c.flag, settings[i])
			}
		}
		res := rec[1+len(dartsSettingColumns):]
		a, err := sp.Parse([]byte(res[0]))
		if err != nil {
			return nil, bad("arch: %v", err)
		}
		acc, err := strconv.ParseFloat(res[2], 64)
		if err != nil || !(acc >= 0 && acc <= 100) {
			return nil, bad("accuracy %q is not a percentage", res[2])
		}
		secs, err := strconv.ParseFloat(res[4], 64)
		if err != nil || !(secs >= 0 && secs <= maxSeconds) {
			return nil, bad("seconds %q is not a duration in seconds", res[4])
		}
		rows[seed] = DartsResult{Arch: a, Acc: acc, Took: Seconds(secs)}
	}
}

// maxSeconds bounds a seed's time read from a CSV to what a Duration holds, with room.
const maxSeconds = 1e9

// WriteDartsCSV replaces path with rows (through a temporary file, so a kill leaves the
// last whole file).
func WriteDartsCSV(path string, settings []string, rows map[int]DartsResult, truth []float64) error {
	b, err := FormatDartsCSV(settings, rows, truth)
	if err != nil {
		return err
	}
	return atomicfile.Replace(path, b)
}

// FormatDartsCSV is the bench darts CSV of rows in seed order, each with the share of
// the ground truth's accuracies it beats.
func FormatDartsCSV(settings []string, rows map[int]DartsResult, truth []float64) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(DartsCSVHeader())
	seeds := make([]int, 0, len(rows))
	for s := range rows {
		seeds = append(seeds, s)
	}
	slices.Sort(seeds)
	for _, s := range seeds {
		r := rows[s]
		rec := append([]string{strconv.Itoa(s)}, settings...)
		rec = append(rec, r.Arch.String(), strconv.Itoa(r.Skips()), strconv.FormatFloat(r.Acc, 'f', -1, 64),
			strconv.FormatFloat(BeatsShare(truth, r.Acc), 'f', 4, 64), strconv.FormatFloat(r.Took.Seconds(), 'f', 1, 64))
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// DartsMethod names the DARTS variant opt runs.
func DartsMethod(opt strategies.DartsOptions) string {
	switch {
	case opt.Dirichlet && opt.AuxSkip:
		return "drnas (dirichlet) + darts- (aux_skip)"
	case opt.Dirichlet:
		return "drnas (dirichlet)"
	case opt.AuxSkip:
		return "darts- (aux_skip)"
	}
	return "darts"
}

// BeatsShare is the share of the accuracies in truth that acc beats.
func BeatsShare(truth []float64, acc float64) float64 {
	n := 0
	for _, v := range truth {
		if acc > v {
			n++
		}
	}
	return float64(n) / float64(len(truth))
}

// DartsResult is one DARTS run: its derived cell, that cell's accuracy trained from
// scratch, and the time both took.
type DartsResult struct {
	Arch spaces.Arch
	Acc  float64
	Took time.Duration
}

// skips counts the derived cell's skip connections, the sign of DARTS' collapse.
func (r DartsResult) Skips() int { return strings.Count(r.Arch.String(), "skip_connect") }

// seconds is s seconds as a Duration.
func Seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// dartsSeed runs DARTS with seed and trains its derived cell as the ground truth's
// builder b trains its archs.
func DartsSeed(ctx context.Context, sp spaces.Space, seed uint64, opt strategies.DartsOptions, b *groundtruth.Builder) (DartsResult, error) {
	start := time.Now()
	d, err := strategies.NewDarts(sp, seed, opt)
	if err != nil {
		return DartsResult{}, err
	}
	for d.Learning() {
		if err := d.Learn(ctx); err != nil {
			return DartsResult{}, err
		}
	}
	a, err := d.Derived()
	if err != nil {
		return DartsResult{}, err
	}
	r := groundtruth.Row{Arch: a.String()}
	if err := b.Fill(ctx, &r); err != nil {
		return DartsResult{}, err
	}
	return DartsResult{Arch: a, Acc: r.Mean(), Took: time.Since(start)}, nil
}
