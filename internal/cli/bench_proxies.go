package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"cellar/bench"
	"cellar/datasets"
	"cellar/evaluators"
	"cellar/proxies"
	"cellar/spaces"
)

func newBenchProxiesCmd() *cobra.Command {
	var (
		table, names, data, csvPath, batchPath string
		n, batch, channels, cells              int
		seed                                   uint64
	)
	cmd := &cobra.Command{
		Use:   "proxies --table F [--n 1000] [--proxies synflow,...] [--data mnist|noise] [--batch 64] [--csv F]",
		Short: "Rank correlation of zero-cost proxies with a NAS-Bench-201 table",
		Long: `Score a seeded random sample of NAS-Bench-201 archs with each zero-cost proxy, untrained,
in the benchmark's own skeleton (16 channels, 5 cells a stage, 3x32x32 input, 10
classes), and print each proxy's Spearman and Kendall tau against the table's accuracy and
the time it takes per arch. Data-dependent proxies see one batch: built-in MNIST padded
to 32x32x3 (--data mnist), or standard-normal noise (--data noise).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if table == "" {
				return fmt.Errorf("give the table with --table F (e.g. NAS-Bench-201's cifar10.csv)")
			}
			list, err := proxies.Check(strings.Split(names, ","))
			if err != nil {
				return fmt.Errorf("--proxies: %w", err)
			}
			sp, err := spaces.NewNB201(spaces.NB201Options{Options: spaces.Options{Input: [3]int{3, 32, 32}, Classes: 10}, Channels: channels, Cells: cells})
			if err != nil {
				return err
			}
			t, err := evaluators.LoadTable(table, sp, "")
			if err != nil {
				return err
			}
			metric := t.Metrics()[0]
			sample, truth, err := bench.SampleTable(sp, t, table, n, seed)
			if err != nil {
				return err
			}
			nets := make([]*spaces.Net, len(sample))
			archs := make([]string, len(sample))
			for i, a := range sample {
				if nets[i], err = sp.Network(a); err != nil {
					return err
				}
				archs[i] = a.String()
			}
			var b proxies.Batch
			source := "none (no data-dependent proxy)"
			switch {
			case !anyNeedsData(list):
			case data == "noise":
				b, source = proxies.NoiseBatch(batch, [3]int{3, 32, 32}, 10, seed), "standard-normal noise"
			case data == "mnist":
				d, err := datasets.Load("mnist", "")
				if err != nil {
					return err
				}
				if b, err = proxies.DatasetBatch(d.Train, batch, [3]int{3, 32, 32}, seed); err != nil {
					return err
				}
				b, source = b.WithClasses(10), "built-in MNIST padded to 32x32x3"
			default:
				return fmt.Errorf("--data %q: mnist or noise", data)
			}
			if batchPath != "" {
				if err := saveBatch(batchPath, b, [3]int{3, 32, 32}); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%d NB201 archs of %s (seed %d) against %s; skeleton %d channels, %d cells a stage, 3x32x32 input\n", n, table, seed, metric, channels, cells)
			if anyNeedsData(list) {
				fmt.Fprintf(w, "data: %s, batch %d\n", source, batch)
			}
			start := time.Now()
			res, err := proxies.Bench(cmd.Context(), proxies.BenchConfig{Nets: nets, Truth: truth, Names: list, Batch: b, Seed: seed,
				Progress: func(done int) {
					if done%max(n/20, 1) == 0 {
						fmt.Fprintf(cmd.ErrOrStderr(), "scored %d of %d archs (%s)\n", done, n, time.Since(start).Round(time.Second))
					}
				}})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "proxy\tspearman\tkendall\ts/arch\t")
			for _, r := range res {
				fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t\n", r.Name, r.Spearman, r.Kendall, r.PerNet.Seconds())
			}
			tw.Flush()
			fmt.Fprintf(w, "%d archs in %s\n", n, time.Since(start).Round(time.Millisecond))
			if csvPath != "" {
				return writeProxyCSV(csvPath, metric, archs, truth, res)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "NAS-Bench-201 CSV table: arch column, then the accuracy")
	f.IntVar(&n, "n", 1000, "archs to sample")
	f.StringVar(&names, "proxies", strings.Join(proxies.Names(), ","), "comma-separated proxies")
	f.StringVar(&data, "data", "mnist", "inputs of the data-dependent proxies: mnist or noise")
	f.IntVar(&batch, "batch", 64, "batch size of the data-dependent proxies")
	f.IntVar(&channels, "channels", 16, "channels of the skeleton's first stage")
	f.IntVar(&cells, "cells", 5, "cells a stage")
	f.Uint64Var(&seed, "seed", 1, "seed of the sample, the batch and the initialisation")
	f.StringVar(&csvPath, "csv", "", "also write every arch's scores to this CSV `file`")
	f.StringVar(&batchPath, "save-batch", "", "also write the data-dependent proxies' batch to this `file` (bench/proxies_vs_torch.sh reads it)")
	return cmd
}

// saveBatch writes a batch for another program to score the same inputs: the
// little-endian int32s N, C, H, W and classes, then the inputs (N x C x H x W
// float32s) and the one-hot labels (N x classes float32s).
func saveBatch(path string, b proxies.Batch, shape [3]int) error {
	if b.N == 0 {
		return fmt.Errorf("--save-batch: no data-dependent proxy, so no batch")
	}
	classes := len(b.Y) / b.N
	var buf bytes.Buffer
	for _, v := range []int32{int32(b.N), int32(shape[0]), int32(shape[1]), int32(shape[2]), int32(classes)} {
		binary.Write(&buf, binary.LittleEndian, v)
	}
	binary.Write(&buf, binary.LittleEndian, b.X)
	binary.Write(&buf, binary.LittleEndian, b.Y)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--save-batch: %w", err)
	}
	return nil
}

func anyNeedsData(names []string) bool {
	for _, n := range names {
		if proxies.NeedsData(n) {
			return true
		}
	}
	return false
}

func writeProxyCSV(path, metric string, archs []string, truth []float64, res []proxies.BenchResult) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("proxies csv: %w", err)
	}
	w := csv.NewWriter(f)
	header := []string{"arch", metric}
	for _, r := range res {
		header = append(header, r.Name)
	}
	w.Write(header)
	for i, a := range archs {
		row := []string{a, fmt.Sprint(truth[i])}
		for _, r := range res {
			row = append(row, fmt.Sprint(r.Scores[i]))
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("proxies csv: %w", err)
	}
	return f.Close()
}
