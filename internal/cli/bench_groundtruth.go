package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cellar/evaluators"
	"cellar/groundtruth"
	"cellar/internal/atomicfile"
	"cellar/spaces"
)

func newBenchGroundTruthCmd() *cobra.Command {
	var (
		table, csvPath string
		n              int
		seed           uint64
	)
	opt := groundtruth.Defaults
	cmd := &cobra.Command{
		Use:   "groundtruth --csv F [--n 150] [--dataset fashion-mnist] [--epochs 4] [--seeds 2]",
		Short: "Train NB201 archs from scratch at the one-shot supernet's skeleton and data",
		Long: `Train n NAS-Bench-201 archs, spread over the accuracy range of --table (the archs sorted
by accuracy are cut into n runs and one drawn from each), from scratch at the skeleton and
on the data the one-shot supernet uses (--channels, --depth; the first --train training
examples), each with --seeds seeds, and score each on the --val held-out examples the
supernet scores archs on. The result is the ground truth one-shot rankings are judged
against like for like. Every finished arch is written to --csv at once; run the same
command again to go on where it stopped. The table's settings are kept beside it (in
F.settings.json for F.csv): a run that goes on with it takes them for the flags left
out, and refuses flags that differ. Archs are trained in an order spread over the
range (bit-reversed), so the archs done at any point cover all of it. At the end it
prints how well the seeds agree (Kendall tau between seed 1 and seed 2) against how
much the archs differ; with four seeds or more, also how the mean of the first half of
the seeds agrees with the second half's, which is how steady the table's mean is.
--seeds larger than a table holds trains the seeds it lacks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if csvPath == "" {
				return fmt.Errorf("give the output with --csv F (an existing F is continued)")
			}
			rows, err := groundtruth.Load(csvPath)
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			// A table goes on as it was built: the flags left out take its settings, and
			// a flag given otherwise is refused rather than mixed into it.
			kept, err := groundtruth.LoadSettings(csvPath)
			if err != nil {
				return err
			}
			switch {
			case len(rows) == 0: // a new table (or a build that had not finished an arch): the flags rule
				kept = nil
			case kept != nil:
				bindings := append(groundTruthBindings(kept, &opt, ""), bind("table", &table, kept.Table), bind("n", &n, kept.N), bind("seed", &seed, kept.Seed))
				if differ := matchTable(cmd, bindings); len(differ) > 0 {
					return fmt.Errorf("--csv %s: leave these flags out to go on with it, or give another --csv", differsFrom(csvPath, differ))
				}
			default:
				fmt.Fprintf(errw, "warning: %s has no settings file (%s): going on with the flags given, which must be those it was built with; they are kept from now on\n",
					csvPath, groundtruth.SettingsPath(csvPath))
			}
			if kept == nil {
				if err := groundtruth.SaveSettings(csvPath, groundtruth.SettingsOf(opt, table, n, seed)); err != nil {
					return err
				}
			}
			if len(rows) == 0 {
				sp, err := spaces.NewNB201(spaces.DefaultNB201)
				if err != nil {
					return err
				}
				t, err := evaluators.LoadTable(table, sp, "")
				if err != nil {
					return err
				}
				if rows, err = groundtruth.Stratified(sp, t, n, seed); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(errw, "%s holds %d archs: training the seeds they lack\n", csvPath, len(rows))
			}
			b, err := groundtruth.NewBuilder(opt)
			if err != nil {
				return err
			}
			// Ctrl-C or SIGTERM stops the build between batches, with the archs done
			// so far written and their agreement printed; run it again to go on.
			ctx, got, stop := onSignal(cmd.Context())
			defer stop()
			w := cmd.OutOrStdout()
			agreement := func() {
				if ag, err := groundtruth.Agree(rows); err == nil {
					fmt.Fprintf(w, "seed 1 against seed 2 over %d archs: Kendall tau %.3f; median gap %.2f points within an arch, %.2f between two archs\n",
						ag.N, ag.SeedKendall, ag.SeedGap, ag.ArchGap)
					if ag.HalfN > 0 {
						h := ag.HalfSeeds
						fmt.Fprintf(w, "seeds 1-%d's mean against seeds %d-%d's over the %d archs with %d: Kendall tau %.3f (single seeds there: %s)\n",
							h, h+1, 2*h, ag.HalfN, 2*h, ag.HalfKendall, pairKendalls(ag.Pairs))
						fmt.Fprintf(w, "%.0f%% of pairs of those archs differ by more than twice the standard error of their %d-seed means' difference; the median SD of an arch's seeds is %.2f points\n",
							100*ag.Separated, 2*h, ag.SeedSD)
					}
				}
				sameFunction(w, rows)
			}
			start := time.Now()
			for k, i := range groundtruth.FillOrder(len(rows)) {
				if len(rows[i].Acc) >= opt.Seeds {
					continue
				}
				t0 := time.Now()
				if err := b.Fill(ctx, &rows[i]); err != nil {
					if ctx.Err() != nil { // stopped: what the archs done so far say
						agreement()
						if sig := got(); sig != nil {
							fmt.Fprintf(w, "interrupted: the archs done are in %s; run the same command to go on\n", csvPath)
							return stoppedBy(sig)
						}
					}
					return err
				}
				if err := writeGroundTruth(csvPath, rows, opt.Seeds); err != nil {
					return err
				}
				accs := make([]string, len(rows[i].Acc))
				for s, a := range rows[i].Acc {
					accs[s] = fmt.Sprintf("%.2f", a)
				}
				fmt.Fprintf(errw, "arch %d/%d (row %d) %s: %s (%s; %s in all)\n", k+1, len(rows), i+1, rows[i].Arch, strings.Join(accs, " "),
					time.Since(t0).Round(time.Second), time.Since(start).Round(time.Second))
			}
			fmt.Fprintf(w, "%d archs in %s: %s, %d channels, %d cell(s) a stage, %d training examples x %d epochs, scored on %d held out\n",
				len(rows), csvPath, opt.Dataset, opt.Channels, opt.Depth, opt.Train, opt.Epochs, opt.Val)
			agreement()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&csvPath, "csv", "", "the ground truth CSV `file` to write (or to continue)")
	f.StringVar(&table, "table", "nb201", "table whose accuracy range the archs are spread over")
	f.IntVar(&n, "n", 150, "archs")
	f.Uint64Var(&seed, "seed", 1, "seed of the sample of archs")
	groundTruthFlags(cmd, &opt, "")
	f.IntVar(&opt.Val, "val", opt.Val, "held-out examples each arch is scored on")
	f.Float64Var(&opt.LR, "lr", opt.LR, "peak learning rate, cosine-annealed")
	return cmd
}

// sameFunction prints the groups of archs that compute the same function, which no
// ground truth can order: their accuracies differ by the training's noise alone.
func sameFunction(w io.Writer, rows []groundtruth.Row) {
	groups, err := groundtruth.SameFunction(rows)
	if err != nil {
		fmt.Fprintf(w, "archs of the same function: %v\n", err)
		return
	}
	if len(groups) == 0 {
		return
	}
	archs, spread := 0, 0.0
	for _, g := range groups {
		archs += len(g.Rows)
		spread = max(spread, g.Spread)
	}
	noun := "groups"
	if len(groups) == 1 {
		noun = "group"
	}
	fmt.Fprintf(w, "%d archs in %d %s compute the same function within a group (they differ only in edges the output cannot see, or in which of nodes 1 and 2 is which): their means differ by up to %.2f points, and no ground truth can order them\n",
		archs, len(groups), noun, spread)
}

// pairKendalls lists the Kendall tau of each pair of seeds, as "1-2 0.63, 1-3 0.60, ...".
func pairKendalls(pairs []groundtruth.SeedPair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = fmt.Sprintf("%d-%d %.3f", p.A, p.B, p.Kendall)
	}
	return strings.Join(parts, ", ")
}

// groundTruthFlags registers the options a ground truth is trained with, which a
// command judging against one must repeat: its dataset, training examples, skeleton,
// and its epochs and seeds (named with prefix where the command has its own).
func groundTruthFlags(cmd *cobra.Command, o *groundtruth.Options, prefix string) {
	f := cmd.Flags()
	f.StringVar(&o.Dataset, "dataset", o.Dataset, "the ground truth's dataset: mnist, fashion-mnist or cifar10")
	f.StringVar(&o.Path, "path", "", "the dataset's folder, where it is not built in")
	f.IntVar(&o.Train, "train", o.Train, "the ground truth's training examples (the supernet's --train)")
	f.IntVar(&o.Epochs, prefix+"epochs", o.Epochs, "the ground truth's training epochs a run")
	f.IntVar(&o.Seeds, prefix+"seeds", o.Seeds, "the ground truth's training runs an arch (seeds 1..N)")
	f.IntVar(&o.Channels, "channels", o.Channels, "the ground truth's (and the supernet's) skeleton channels")
	f.IntVar(&o.Depth, "depth", o.Depth, "the ground truth's (and the supernet's) cells a stage")
}

// writeGroundTruth replaces path with rows through a temporary file, so a kill
// leaves the last complete table.
func writeGroundTruth(path string, rows []groundtruth.Row, seeds int) error {
	var buf bytes.Buffer
	if err := groundtruth.Write(&buf, rows, seeds); err != nil {
		return err
	}
	return atomicfile.Replace(path, buf.Bytes())
}
