package cli

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/spaces"
	"cellar/stats"
)

func newBenchOneShotCmd() *cobra.Command {
	var (
		table, csvPath string
		n              int
		seed           uint64
	)
	opt := evaluators.DefaultOneShot // the flags set some fields; the rest keep these
	cmd := &cobra.Command{
		Use:   "oneshot --table F [--n 200] [--epochs 5] [--channels 8] [--depth 1] [--train 10000] [--csv F]",
		Short: "Rank correlation of one-shot (weight-sharing) scores with a NAS-Bench-201 table",
		Long: `Train an NB201 supernet by single-path one-shot on built-in MNIST (or --dataset), then
score a seeded random sample of archs with inherited weights (batch norm re-estimated per
arch) and print the Spearman and Kendall tau of those scores against the table's accuracy,
and the time per evaluation. The table's accuracies are for CIFAR-10 training: the
supernet sees other data, so this measures how well the ranking transfers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if table == "" {
				return fmt.Errorf("give the table with --table F (e.g. NAS-Bench-201's cifar10.csv)")
			}
			sp, err := spaces.NewNB201(spaces.DefaultNB201)
			if err != nil {
				return err
			}
			t, err := evaluators.LoadTable(table, sp, "")
			if err != nil {
				return err
			}
			archs, truth, err := sampleTable(sp, t, table, n, seed)
			if err != nil {
				return err
			}
			ev, err := evaluators.NewOneShot(sp, opt)
			if err != nil {
				return err
			}
			w, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			start := time.Now()
			for ev.Learning() {
				if err := ev.Learn(cmd.Context()); err != nil {
					return err
				}
				r := ev.Reports()[len(ev.Reports())-1]
				fmt.Fprintf(errw, "supernet epoch %d/%d: train loss %.4f (%.0f s)\n", r.Step, r.Of, r.Values["train_loss"], r.Values["seconds"])
			}
			trained := time.Since(start)
			scores := make([]float64, len(archs))
			var evalTime time.Duration
			for i, a := range archs {
				t0 := time.Now()
				out, err := ev.Evaluate(cmd.Context(), engine.Job{Arch: a}, nil)
				if err != nil {
					return fmt.Errorf("%s: %w", a, err)
				}
				evalTime += time.Since(t0)
				scores[i] = out.Metrics["oneshot_accuracy"]
				if (i+1)%max(n/10, 1) == 0 {
					fmt.Fprintf(errw, "scored %d of %d archs\n", i+1, n)
				}
			}
			metric := t.Metrics()[0]
			fmt.Fprintf(w, "%d NB201 archs of %s (seed %d) against %s\n", n, table, seed, metric)
			fmt.Fprintf(w, "supernet: %s, trained in %s\n", ev.Describe(), trained.Round(time.Second))
			fmt.Fprintf(w, "spearman %.3f  kendall %.3f  %.3f s/eval\n", stats.Spearman(scores, truth), stats.Kendall(scores, truth), evalTime.Seconds()/float64(n))
			if csvPath == "" {
				return nil
			}
			f, err := os.Create(csvPath)
			if err != nil {
				return fmt.Errorf("oneshot csv: %w", err)
			}
			cw := csv.NewWriter(f)
			cw.Write([]string{"arch", metric, "oneshot_accuracy"})
			for i, a := range archs {
				cw.Write([]string{a.String(), strconv.FormatFloat(truth[i], 'g', -1, 64), strconv.FormatFloat(scores[i], 'g', -1, 64)})
			}
			cw.Flush()
			if err := cw.Error(); err != nil {
				f.Close()
				return fmt.Errorf("oneshot csv: %w", err)
			}
			return f.Close()
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "NAS-Bench-201 CSV table: arch column, then the accuracy")
	f.IntVar(&n, "n", 200, "archs to sample")
	f.Uint64Var(&seed, "seed", 1, "seed of the sample and the supernet")
	f.StringVar(&csvPath, "csv", "", "also write every arch's score to this CSV `file`")
	f.StringVar(&opt.Dataset, "dataset", "mnist", "data the supernet trains on: mnist, fashion-mnist or cifar10")
	f.StringVar(&opt.Path, "path", "", "the dataset's folder, where it is not built in")
	f.IntVar(&opt.Epochs, "epochs", evaluators.DefaultOneShot.Epochs, "supernet training epochs")
	f.IntVar(&opt.Train, "train", evaluators.DefaultOneShot.Train, "training examples")
	f.IntVar(&opt.Channels, "channels", evaluators.DefaultOneShot.Channels, "supernet channels")
	f.IntVar(&opt.Depth, "depth", spaces.SearchDepth["nb201"], "supernet cells a stage")
	f.IntVar(&opt.ScoreSize, "score-size", evaluators.DefaultOneShot.ScoreSize, "held-out examples each arch is scored on")
	f.IntVar(&opt.Recalibrate, "recalibrate", evaluators.DefaultOneShot.Recalibrate, "batches that re-estimate batch norm per arch")
	cmd.PreRun = func(*cobra.Command, []string) { opt.Seed = seed }
	return cmd
}
