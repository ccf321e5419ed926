package groundtruth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"cellar/internal/atomicfile"
)

// Settings are how a ground truth was trained: what a build that continues it must
// repeat, and what a supernet or a DARTS run judged against it must match to be
// compared like for like. They are kept beside the table's CSV (SettingsPath), so the
// CSV stays a plain table for any reader.
type Settings struct {
	Dataset     string  `json:"dataset"`
	Train       int     `json:"train"`    // training examples, the first of the training set
	Val         int     `json:"val"`      // held-out examples at its end, each arch scored on
	Channels    int     `json:"channels"` // of the skeleton
	Depth       int     `json:"depth"`    // cells a stage
	Epochs      int     `json:"epochs"`
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"`
	Momentum    float64 `json:"momentum"`
	WeightDecay float64 `json:"weight_decay"`
	// How the archs were drawn: n of them spread over table's accuracy, sample seed.
	Table string `json:"table"`
	N     int    `json:"n"`
	Seed  uint64 `json:"seed"`
}

// SettingsOf are the settings of a build with opt, its archs drawn as Stratified(table,
// n, seed) draws them.
func SettingsOf(opt Options, table string, n int, seed uint64) Settings {
	return Settings{Dataset: opt.Dataset, Train: opt.Train, Val: opt.Val, Channels: opt.Channels, Depth: opt.Depth,
		Epochs: opt.Epochs, Batch: opt.Batch, LR: opt.LR, Momentum: opt.Momentum, WeightDecay: opt.WeightDecay,
		Table: table, N: n, Seed: seed}
}

// Apply sets opt's training and data to s's; its seeds and dataset folder stay.
func (s Settings) Apply(opt *Options) {
	opt.Dataset, opt.Train, opt.Val, opt.Channels, opt.Depth = s.Dataset, s.Train, s.Val, s.Channels, s.Depth
	opt.Epochs, opt.Batch, opt.LR, opt.Momentum, opt.WeightDecay = s.Epochs, s.Batch, s.LR, s.Momentum, s.WeightDecay
}

// SettingsPath is where the settings of the ground truth at csvPath are kept: beside
// it, named as it is with .settings.json for .csv.
func SettingsPath(csvPath string) string {
	return strings.TrimSuffix(csvPath, ".csv") + ".settings.json"
}

// LoadSettings reads the settings kept for the ground truth at csvPath; nil with no
// error where there are none (a table built before they were kept). A damaged or
// foreign file is an error naming it.
func LoadSettings(csvPath string) (*Settings, error) {
	path := SettingsPath(csvPath)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Settings
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: not the settings of a ground truth: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: not the settings of a ground truth: more than one JSON object", path)
	}
	if s.Dataset == "" || s.Train < 1 || s.Val < 1 || s.Channels < 1 || s.Depth < 1 || s.Epochs < 1 || s.Batch < 1 || !(s.LR > 0) {
		return nil, fmt.Errorf("%s: dataset, train, val, channels, depth, epochs, batch and lr must all be set (dataset %q, train %d, val %d, channels %d, depth %d, epochs %d, batch %d, lr %v)",
			path, s.Dataset, s.Train, s.Val, s.Channels, s.Depth, s.Epochs, s.Batch, s.LR)
	}
	return &s, nil
}

// SaveSettings keeps s as the settings of the ground truth at csvPath, whole or not at
// all.
func SaveSettings(csvPath string, s Settings) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Replace(SettingsPath(csvPath), append(b, '\n'))
}
