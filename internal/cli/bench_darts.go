package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"cellar/bench"
	"cellar/groundtruth"
	"cellar/spaces"
	"cellar/strategies"
)

func newBenchDartsCmd() *cobra.Command {
	var (
		truthPath, csvPath string
		seeds              int
	)
	opt := strategies.DefaultDarts
	gt := groundtruth.Defaults
	cmd := &cobra.Command{
		Use:   "darts --groundtruth F [--seeds 5] [--aux-skip | --dirichlet] [--epochs 10] [--dataset fashion-mnist] [--csv F]",
		Short: "Where DARTS' derived NB201 cell ranks in a ground truth, seed by seed",
		Long: `Run DARTS on the NB201 supernet once for each of --seeds seeds, derive its cell, train
that cell from scratch as cellar bench groundtruth trained the table's (same skeleton,
data, epochs and seeds), and print the derived cell, its skip connections, its accuracy
and where that accuracy falls in the ground truth (the fraction of the table's archs it
beats). Plain DARTS on NB201 collapses to skip connections; --aux-skip runs DARTS-,
--dirichlet DrNAS.
The cells are trained with the settings the table keeps beside it (F.settings.json for
F.csv, written by cellar bench groundtruth) and as many seeds as its archs have; for a
table without one, give the --dataset, --train, --channels, --depth and --epochs it was
built with (--train-epochs; --epochs is DARTS' own). Ctrl-C stops it with the seeds
done reported. With --csv F every finished seed is written to F at once, and the same command run
again reports the seeds F holds and runs only the others (F must have been written
with the same flags).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if truthPath == "" {
				return fmt.Errorf("give the ground truth with --groundtruth F (from cellar bench groundtruth)")
			}
			rows, err := groundtruth.Load(truthPath)
			if err != nil {
				return err
			}
			if len(rows) < 10 {
				return fmt.Errorf("--groundtruth %s: %d archs; need at least 10", truthPath, len(rows))
			}
			var truth []float64
			for _, r := range rows {
				if len(r.Acc) == 0 {
					return fmt.Errorf("--groundtruth %s: %s has no accuracy yet", truthPath, r.Arch)
				}
				truth = append(truth, r.Mean())
			}
			// The derived cells are trained as the table's archs were: the flags left
			// out take its settings and seeds, and flags that differ are refused.
			kept, err := groundtruth.LoadSettings(truthPath)
			if err != nil {
				return err
			}
			if kept != nil {
				if differ := matchTable(cmd, groundTruthBindings(kept, &gt, "train-")); len(differ) > 0 {
					return fmt.Errorf("--groundtruth %s: leave these flags out, to train the derived cells as its archs were", differsFrom(truthPath, differ))
				}
			}
			if !cmd.Flags().Changed("train-seeds") {
				gt.Seeds = len(rows[0].Acc)
				for _, r := range rows {
					gt.Seeds = min(gt.Seeds, len(r.Acc))
				}
			}
			sp, err := spaces.NewNB201(spaces.DefaultNB201)
			if err != nil {
				return err
			}
			opt.Dataset, opt.Path, opt.Channels, opt.Depth = gt.Dataset, gt.Path, gt.Channels, gt.Depth
			name := bench.DartsMethod(opt)
			settings := bench.DartsSettings(name, opt, gt)
			done := map[int]bench.DartsResult{}
			if csvPath != "" {
				if done, err = bench.ReadDartsCSV(csvPath, sp, settings); err != nil {
					return err
				}
			}
			b, err := groundtruth.NewBuilder(gt)
			if err != nil {
				return err
			}
			w, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			fmt.Fprintf(w, "%s on %s, %d epochs; derived cells trained as %s's %d archs: %d examples x %d epochs, %d channels, %d seeds\n",
				name, gt.Dataset, opt.Epochs, truthPath, len(rows), gt.Train, gt.Epochs, gt.Channels, gt.Seeds)
			// Ctrl-C or SIGTERM stops the seed in progress; the seeds done are reported.
			ctx, got, stop := onSignal(cmd.Context())
			defer stop()
			top := 0
			for seed := 1; seed <= seeds; seed++ {
				r, saved := done[seed]
				if !saved {
					res, err := bench.DartsSeed(ctx, sp, uint64(seed), opt, b)
					if err != nil {
						if sig := got(); sig != nil && ctx.Err() != nil {
							fmt.Fprintf(w, "in the top 10%%: %d of the %d seeds done\n", top, seed-1)
							if csvPath != "" {
								fmt.Fprintf(w, "interrupted in seed %d: the seeds done are in %s; run the same command to go on\n", seed, csvPath)
							} else {
								fmt.Fprintf(w, "interrupted in seed %d: run the same command to start again (with --csv F, the seeds done are kept)\n", seed)
							}
							return stoppedBy(sig)
						}
						return err
					}
					r, done[seed] = res, res
					if csvPath != "" {
						if err := bench.WriteDartsCSV(csvPath, settings, done, truth); err != nil {
							return err
						}
					}
				}
				frac := bench.BeatsShare(truth, r.Acc)
				if frac >= 0.9 {
					top++
				}
				how := r.Took.Round(time.Second).String()
				if saved {
					how += ", kept in " + csvPath
				}
				fmt.Fprintf(w, "seed %d: %s  skips %d  accuracy %.2f  beats %.0f%% of the table (%s)\n", seed, r.Arch,
					r.Skips(), r.Acc, 100*frac, how)
				if saved {
					fmt.Fprintf(errw, "seed %d kept in %s\n", seed, csvPath)
				} else {
					fmt.Fprintf(errw, "seed %d done\n", seed)
				}
			}
			fmt.Fprintf(w, "in the top 10%%: %d of %d seeds\n", top, seeds)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&truthPath, "groundtruth", "", "ground truth CSV `file` from cellar bench groundtruth")
	f.IntVar(&seeds, "seeds", 5, "DARTS runs, seeds 1..N")
	f.StringVar(&csvPath, "csv", "", "write every finished seed to this CSV `file`, and go on from the seeds it holds")
	f.BoolVar(&opt.AuxSkip, "aux-skip", false, "DARTS-: an auxiliary skip connection on every edge, decaying from 1 to 0")
	f.BoolVar(&opt.Dirichlet, "dirichlet", false, "DrNAS: mix the ops by Dirichlet samples whose concentrations DARTS learns")
	f.Float64Var(&opt.DirichletKL, "dirichlet-kl", opt.DirichletKL, "DrNAS' weight of the KL divergence to the uniform Dirichlet")
	f.IntVar(&opt.Epochs, "epochs", opt.Epochs, "DARTS epochs")
	f.IntVar(&opt.Order, "order", opt.Order, "1: first-order DARTS; 2: second-order")
	f.IntVar(&opt.Train, "darts-train", opt.Train, "training examples of DARTS' weight steps (its alpha steps take --darts-val held-out ones)")
	f.IntVar(&opt.Val, "darts-val", opt.Val, "held-out examples of DARTS' alpha steps")
	groundTruthFlags(cmd, &gt, "train-") // DARTS has its own --epochs
	return cmd
}
