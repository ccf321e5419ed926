package cli

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

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

// dartsResultColumns follow the settings: what the seed gave. skips and beats are
// derived (from the arch, and from the ground truth at the time) and written for
// readers of the file; a continued run recomputes them.
var dartsResultColumns = []string{"arch", "skips", "accuracy", "beats", "seconds"}

// dartsSettings are the values of dartsSettingColumns for one run, in their order.
func dartsSettings(method string, opt strategies.DartsOptions, gt groundtruth.Options) []string {
	dirichletKL := ""
	if opt.Dirichlet {
		dirichletKL = strconv.FormatFloat(opt.DirichletKL, 'g', -1, 64)
	}
	return []string{method, strconv.Itoa(opt.Epochs), strconv.Itoa(opt.Order), strconv.Itoa(opt.Train), strconv.Itoa(opt.Val),
		dirichletKL, gt.Dataset, strconv.Itoa(gt.Train), strconv.Itoa(gt.Channels), strconv.Itoa(gt.Depth),
		strconv.Itoa(gt.Epochs), strconv.Itoa(gt.Seeds)}
}

// dartsCSVHeader is the bench darts CSV's first line.
func dartsCSVHeader() []string {
	h := []string{"seed"}
	for _, c := range dartsSettingColumns {
		h = append(h, c.column)
	}
	return append(h, dartsResultColumns...)
}

// readDartsCSV reads the seeds a bench darts CSV holds, checking each was run with
// settings; a missing file holds none. Errors name the file, the line and what is
// wrong, and a seed run with other settings names the flag that differs.
func readDartsCSV(path string, sp spaces.Space, settings []string) (map[int]dartsResult, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[int]dartsResult{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseDartsCSV(b, path, sp, settings)
}

// parseDartsCSV reads the bench darts CSV b (from path, for errors), as readDartsCSV.
func parseDartsCSV(b []byte, path string, sp spaces.Space, settings []string) (map[int]dartsResult, error) {
	r := csv.NewReader(bytes.NewReader(b))
	header := dartsCSVHeader()
	r.FieldsPerRecord = -1 // the header is checked as a whole, then every line against it
	got, err := r.Read()
	if err == io.EOF {
		return map[int]dartsResult{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("--csv %s: %w", path, err)
	}
	if !slices.Equal(got, header) {
		return nil, fmt.Errorf("--csv %s: not a bench darts CSV: its first line is %q, where %q was expected", path, strings.Join(got, ","), strings.Join(header, ","))
	}
	r.FieldsPerRecord = len(header)
	rows := map[int]dartsResult{}
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
		rows[seed] = dartsResult{arch: a, acc: acc, took: seconds(secs)}
	}
}

// maxSeconds bounds a seed's time read from a CSV to what a Duration holds, with room.
const maxSeconds = 1e9

// writeDartsCSV replaces path with rows (through a temporary file, so a kill leaves the
// last whole file).
func writeDartsCSV(path string, settings []string, rows map[int]dartsResult, truth []float64) error {
	b, err := formatDartsCSV(settings, rows, truth)
	if err != nil {
		return err
	}
	return atomicfile.Replace(path, b)
}

// formatDartsCSV is the bench darts CSV of rows in seed order, each with the share of
// the ground truth's accuracies it beats.
func formatDartsCSV(settings []string, rows map[int]dartsResult, truth []float64) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(dartsCSVHeader())
	seeds := make([]int, 0, len(rows))
	for s := range rows {
		seeds = append(seeds, s)
	}
	slices.Sort(seeds)
	for _, s := range seeds {
		r := rows[s]
		rec := append([]string{strconv.Itoa(s)}, settings...)
		rec = append(rec, r.arch.String(), strconv.Itoa(r.skips()), strconv.FormatFloat(r.acc, 'f', -1, 64),
			strconv.FormatFloat(beatsShare(truth, r.acc), 'f', 4, 64), strconv.FormatFloat(r.took.Seconds(), 'f', 1, 64))
		w.Write(rec)
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
