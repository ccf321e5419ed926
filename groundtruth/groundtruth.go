// Package groundtruth trains NAS-Bench-201 archs from scratch at the one-shot
// supernet's skeleton and data, so that weight sharing (one-shot scores, DARTS'
// derived cells) is judged against accuracies measured like for like: the same
// channels, cells, training examples and held-out examples the supernet uses.
package groundtruth

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"

	"cellar/datasets"
	"cellar/evaluators"
	"cellar/nn"
	"cellar/spaces"
	"cellar/stats"
)

// Options say how each arch is trained: the skeleton and data of
// evaluators.OneShotOptions, and the training of each run.
type Options struct {
	Dataset  string // mnist or fashion-mnist (built in), or cifar10
	Path     string // the dataset's folder, where it is not built in
	Train    int    // training examples, the first of the training set (10000)
	Val      int    // held-out examples at the end of the training set, scored (5000)
	Channels int    // of the skeleton (8)
	Depth    int    // cells a stage (1)
	Seeds    int    // training runs an arch, seeds 1..Seeds (2)
	nn.TrainConfig
}

// Defaults match the one-shot evaluator's defaults, with 4 epochs a run.
var Defaults = Options{Dataset: "fashion-mnist", Train: evaluators.DefaultOneShot.Train, Val: evaluators.DefaultOneShot.Val,
	Channels: evaluators.DefaultOneShot.Channels, Depth: 1, Seeds: 2,
	TrainConfig: nn.TrainConfig{Epochs: 4, Batch: 64, LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4}}

// Row is one arch's ground truth.
type Row struct {
	Arch      string    // canonical NB201 string
	Reference float64   // its accuracy in the table it was sampled from (NB201 CIFAR-10)
	Acc       []float64 // held-out accuracy in percent, one a seed
	Params    int
}

// Mean is the arch's accuracy averaged over its seeds.
func (r Row) Mean() float64 { return mean(r.Acc) }

func mean(v []float64) float64 {
	var s float64
	for _, a := range v {
		s += a
	}
	return s / float64(len(v))
}

// Stratified picks n archs of t spread over its first metric: the archs sorted by it
// are cut into n runs of equal length and one arch is drawn from each, so that good,
// middling and poor archs are all there (a uniform sample of NB201 is mostly archs
// within a few points of each other).
func Stratified(space spaces.Space, t *evaluators.Table, n int, seed uint64) ([]Row, error) {
	if n < 3 || n > t.Len() {
		return nil, fmt.Errorf("groundtruth: %d archs: from 3 to the table's %d", n, t.Len())
	}
	metric := t.Metrics()[0]
	type scored struct {
		arch string
		v    float64
	}
	var all []scored
	for _, s := range t.Archs() {
		a, err := space.Parse([]byte(s))
		if err != nil {
			return nil, err
		}
		vals, _ := t.Lookup(a)
		all = append(all, scored{s, vals[metric]})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	rng := rand.New(rand.NewPCG(seed, 0x57a7))
	rows := make([]Row, n)
	for i := range rows {
		lo, hi := i*len(all)/n, (i+1)*len(all)/n
		pick := all[lo+rng.IntN(hi-lo)]
		rows[i] = Row{Arch: pick.arch, Reference: pick.v}
	}
	return rows, nil
}

// Builder trains archs as opt says.
type Builder struct {
	opt        Options
	space      spaces.Space
	train, val *datasets.Dataset
}

// NewBuilder loads the data and checks the options.
func NewBuilder(opt Options) (*Builder, error) {
	if err := opt.TrainConfig.Check(); err != nil {
		return nil, fmt.Errorf("groundtruth: %w", err)
	}
	if opt.Seeds < 1 || opt.Channels < 1 || opt.Depth < 1 {
		return nil, fmt.Errorf("groundtruth: seeds %d, channels %d and depth %d must be at least 1", opt.Seeds, opt.Channels, opt.Depth)
	}
	data, err := datasets.Load(opt.Dataset, opt.Path)
	if err != nil {
		return nil, fmt.Errorf("groundtruth: %w", err)
	}
	train, val, err := data.Split(opt.Val, opt.Train)
	if err != nil {
		return nil, fmt.Errorf("groundtruth: %s: %w", opt.Dataset, err)
	}
	space, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: train.Shape(), Classes: train.Classes}, Channels: opt.Channels, Cells: opt.Depth})
	if err != nil {
		return nil, err
	}
	return &Builder{opt: opt, space: space, train: train, val: val}, nil
}

// Fill trains every seed of r that has no accuracy yet, the seeds at once (a
// network this small leaves cores idle: on 2 cores, three archs' two seeds at once
// took 98 s, one after the other 111 s). The run of seed s is nn.Train's with seed s: one arch
// and seed give one accuracy, however many run at once.
func (b *Builder) Fill(ctx context.Context, r *Row) error {
	first := len(r.Acc)
	seeds := make([]uint64, 0, b.opt.Seeds)
	for s := first + 1; s <= b.opt.Seeds; s++ {
		seeds = append(seeds, uint64(s))
	}
	params, res, err := b.trainSeeds(ctx, r.Arch, seeds, nil)
	if err != nil {
		return err
	}
	r.Params = params
	for _, x := range res {
		r.Acc = append(r.Acc, x.ValAcc)
	}
	return nil
}

// trainSeeds trains arch once for each of seeds, all at once (see Fill), each also scored
// on test where it is not nil, and gives the network's parameter count and the runs.
func (b *Builder) trainSeeds(ctx context.Context, arch string, seeds []uint64, test *datasets.Dataset) (int, []*nn.Result, error) {
	a, err := b.space.Parse([]byte(arch))
	if err != nil {
		return 0, nil, err
	}
	net, err := b.space.Network(a)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", arch, err)
	}
	res := make([]*nn.Result, len(seeds))
	errs := make([]error, len(seeds))
	var wg sync.WaitGroup
	for i, s := range seeds {
		wg.Go(func() {
			r, err := nn.Train(ctx, net, b.train, b.val, test, b.opt.TrainConfig, s, nil)
			res[i] = r
			if err != nil {
				errs[i] = fmt.Errorf("%s, seed %d: %w", arch, s, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	return net.Params(), res, nil
}

// FillOrder is the order to train n rows sorted by accuracy in: the bit-reversed
// (van der Corput) order scaled to n, so the rows trained so far are always spread
// over the whole range (the first 2^k fall one in each 2^k-th of it). A build stopped
// part way is then a smaller ground truth of its own, not the bottom of one, and its
// seed agreement already says how the whole will agree.
func FillOrder(n int) []int {
	width := 0
	for 1<<width < n {
		width++
	}
	out := make([]int, 0, n)
	seen := make([]bool, n)
	for j := range 1 << width {
		r := 0
		if width > 0 {
			r = int(bits.Reverse64(uint64(j)) >> (64 - width)) // j's lowest width bits, reversed
		}
		// The first row of r's 2^width-th of the range (ceil(r*n/2^width)); r steps by
		// n/2^width <= 1 row, so every row comes up (the last r's may round up to n).
		if i := (r*n + 1<<width - 1) >> width; i < n && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	return out
}

// Agreement is how well the seeds agree, against how much archs differ.
type Agreement struct {
	N           int     // archs with two seeds, the ones measured
	SeedKendall float64 // Kendall tau between seed 1's and seed 2's accuracies over the archs
	SeedGap     float64 // median |seed 1 - seed 2| of an arch, in points
	ArchGap     float64 // median |mean a - mean b| over pairs of archs, in points

	// Where archs have at least four seeds, the steadiness of a ground truth that
	// averages them: over those archs, the mean of the first half of the seeds against
	// the mean of the second half. A table holding 2h seeds an arch is judged by how
	// two h-seed means agree, not by how two single seeds do, since its accuracy
	// column is their mean.
	HalfN       int        // archs with 2*HalfSeeds seeds (0: no arch has four)
	HalfSeeds   int        // seeds in each half
	HalfKendall float64    // Kendall tau between the two halves' means over the HalfN archs
	Pairs       []SeedPair // over the same archs, each pair of single seeds (1-2, 1-3, ..., 2-3, ...)
	// Over the same archs, what "two seeds of an arch agree better than two archs
	// differ" asks, pair by pair: the fraction of pairs of archs whose 2h-seed means
	// differ by more than twice the standard error of that difference (from each
	// arch's own variance over its seeds), and the median standard deviation of an
	// arch's seeds, in points.
	Separated float64
	SeedSD    float64
}

// SeedPair is how two single seeds (numbered from 1) rank the archs alike.
type SeedPair struct {
	A, B    int
	Kendall float64
}

// Agree measures the rows with at least two seeds (a table being built has rows
// without), and needs two such rows. The halves are measured over the rows with the
// most seeds, where that is at least four and two rows have them.
func Agree(rows []Row) (Agreement, error) {
	var s1, s2, seedGaps, means []float64
	most := 0
	for _, r := range rows {
		most = max(most, len(r.Acc))
		if len(r.Acc) < 2 {
			continue
		}
		s1, s2 = append(s1, r.Acc[0]), append(s2, r.Acc[1])
		seedGaps = append(seedGaps, math.Abs(r.Acc[0]-r.Acc[1]))
		means = append(means, r.Mean())
	}
	if len(means) < 2 {
		return Agreement{}, fmt.Errorf("groundtruth: %d of %d archs have two seeds; agreement needs two such archs", len(means), len(rows))
	}
	var archGaps []float64
	for i := range means {
		for j := i + 1; j < len(means); j++ {
			archGaps = append(archGaps, math.Abs(means[i]-means[j]))
		}
	}
	ag := Agreement{N: len(means), SeedKendall: stats.Kendall(s1, s2), SeedGap: median(seedGaps), ArchGap: median(archGaps)}
	if most >= 4 {
		ag.halves(rows, most/2)
	}
	return ag, nil
}

// halves fills the half agreement over the rows with at least 2h seeds, the first 2h of
// them, if there are two such rows.
func (ag *Agreement) halves(rows []Row, h int) {
	var full [][]float64
	for _, r := range rows {
		if len(r.Acc) >= 2*h {
			full = append(full, r.Acc[:2*h])
		}
	}
	if len(full) < 2 {
		return
	}
	first, second := make([]float64, len(full)), make([]float64, len(full))
	for i, acc := range full {
		first[i], second[i] = mean(acc[:h]), mean(acc[h:])
	}
	ag.HalfN, ag.HalfSeeds, ag.HalfKendall = len(full), h, stats.Kendall(first, second)
	means, vars, sds := make([]float64, len(full)), make([]float64, len(full)), make([]float64, len(full))
	for i, acc := range full {
		means[i] = mean(acc)
		for _, a := range acc {
			vars[i] += (a - means[i]) * (a - means[i])
		}
		vars[i] /= float64(len(acc) - 1) // sample variance
		sds[i] = math.Sqrt(vars[i])
	}
	separated, pairs := 0, 0
	for i := range full {
		for j := i + 1; j < len(full); j++ {
			pairs++
			if math.Abs(means[i]-means[j]) > 2*math.Sqrt((vars[i]+vars[j])/float64(2*h)) {
				separated++
			}
		}
	}
	ag.Separated, ag.SeedSD = float64(separated)/float64(pairs), median(sds)
	seed := func(s int) []float64 {
		col := make([]float64, len(full))
		for i, acc := range full {
			col[i] = acc[s]
		}
		return col
	}
	for a := range 2 * h {
		for b := a + 1; b < 2*h; b++ {
			ag.Pairs = append(ag.Pairs, SeedPair{A: a + 1, B: b + 1, Kendall: stats.Kendall(seed(a), seed(b))})
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Sorted(slices.Values(v))
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// header is the CSV's first line: arch, the reference accuracy, the mean, params,
// then one column a seed.
func header(seeds int) []string {
	h := []string{"arch", "reference", "accuracy", "params"}
	for s := 1; s <= seeds; s++ {
		h = append(h, "seed"+strconv.Itoa(s))
	}
	return h
}

// Write writes rows as CSV (accuracy is the mean over the seeds). Rows still missing
// seeds leave those cells empty. It writes a column for every seed a row holds, even
// past seeds: a table built with more seeds, continued with fewer, keeps them all.
func Write(w io.Writer, rows []Row, seeds int) error {
	for _, r := range rows {
		seeds = max(seeds, len(r.Acc))
	}
	cw := csv.NewWriter(w)
	cw.Write(header(seeds))
	for _, r := range rows {
		rec := []string{r.Arch, fmtF(r.Reference), "", strconv.Itoa(r.Params)}
		if len(r.Acc) > 0 {
			rec[2] = fmtF(r.Mean())
		}
		for s := 0; s < seeds; s++ {
			v := ""
			if s < len(r.Acc) {
				v = fmtF(r.Acc[s])
			}
			rec = append(rec, v)
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// fmtF writes a float exactly (shortest form), so a table read back and written
// again is the same file.
func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Read reads a CSV that Write wrote; path names it in errors.
func Read(r io.Reader, path string) ([]Row, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 || len(recs[0]) < 5 || !slices.Equal(recs[0], header(len(recs[0])-4)) {
		return nil, fmt.Errorf("%s: line 1: want the columns %v", path, header(2))
	}
	var rows []Row
	for i, rec := range recs[1:] {
		line := i + 2
		r := Row{Arch: rec[0]}
		var err error
		if r.Reference, err = strconv.ParseFloat(rec[1], 64); err != nil || math.IsNaN(r.Reference) || math.IsInf(r.Reference, 0) {
			return nil, fmt.Errorf("%s: line %d: reference %q is not a number", path, line, rec[1])
		}
		if r.Params, err = strconv.Atoi(rec[3]); err != nil || r.Params < 0 {
			return nil, fmt.Errorf("%s: line %d: params %q is not a whole number", path, line, rec[3])
		}
		for s, cell := range rec[4:] {
			if cell == "" {
				break
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil || v < 0 || v > 100 {
				return nil, fmt.Errorf("%s: line %d: seed %d accuracy %q is not a percentage", path, line, s+1, cell)
			}
			r.Acc = append(r.Acc, v)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Load reads the CSV at path; a missing file gives no rows and no error.
func Load(path string) ([]Row, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path)
}
