package cli

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/groundtruth"
	"cellar/spaces"
	"cellar/stats"
)

func newBenchOneShotCmd() *cobra.Command {
	var (
		table, truthPath, csvPath, samplings, supernets string
		n                                               int
		seed                                            uint64
	)
	opt := evaluators.DefaultOneShot // the flags set some fields; the rest keep these
	cmd := &cobra.Command{
		Use:   "oneshot (--table F | --groundtruth F) [--n 200] [--sampling uniform,fair,fewshot] [--epochs 5] [--dataset mnist] [--csv F]",
		Short: "Rank correlation of one-shot (weight-sharing) scores with a table or a ground truth",
		Long: `Train an NB201 supernet on built-in MNIST (or --dataset), once for each --sampling
(uniform: single-path one-shot; fair: FairNAS; fewshot: uniform, split into a supernet per
op of the first edge after --split of the epochs, half by default), score archs with
inherited weights (batch norm re-estimated per arch; with --finetune N, after N steps
that train the arch's path alone) and print, for each, the Spearman and Kendall tau
(tau-b) of the scores against the truth, the fraction of the truth's top 10 among the
scores' top 10, and the time per evaluation: by accuracy; by loss; by the angle
training turned each path's op weights from their initial values (ABS; no data); by
the mean of the loss's rank and the angle's (+angle: the supernet alone), of the
loss's and the params proxy's (+params), and of all three (+both); then the params
proxy's on the same archs.
--groundtruth takes a table that cellar bench groundtruth trained at the supernet's
skeleton and data (like for like: give the same --dataset, --train, --channels and
--depth). --table samples --n archs of a NAS-Bench-201 table: its accuracies are for
CIFAR-10 training, so that measures how well the ranking transfers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (table == "") == (truthPath == "") {
				return fmt.Errorf("give one of --table F (e.g. nb201) or --groundtruth F (from cellar bench groundtruth)")
			}
			sp, err := spaces.NewNB201(spaces.DefaultNB201)
			if err != nil {
				return err
			}
			var (
				archs   []spaces.Arch
				truth   []float64
				params  []float64
				against string
				column  string
				source  string
			)
			if truthPath != "" {
				rows, err := groundtruth.Load(truthPath)
				if err != nil {
					return err
				}
				if len(rows) < 3 {
					return fmt.Errorf("--groundtruth %s: %d archs; need at least 3", truthPath, len(rows))
				}
				for i, r := range rows {
					a, err := sp.Parse([]byte(r.Arch))
					if err != nil {
						return fmt.Errorf("--groundtruth %s: arch %d: %w", truthPath, i+1, err)
					}
					if len(r.Acc) == 0 {
						return fmt.Errorf("--groundtruth %s: %s has no accuracy yet (finish it with cellar bench groundtruth)", truthPath, r.Arch)
					}
					archs, truth, params = append(archs, a), append(truth, r.Mean()), append(params, float64(r.Params))
				}
				against, column, source = "its trained accuracy", "accuracy", truthPath
			} else {
				t, err := evaluators.LoadTable(table, sp, "")
				if err != nil {
					return err
				}
				if archs, truth, err = sampleTable(sp, t, table, n, seed); err != nil {
					return err
				}
				for _, a := range archs {
					net, err := sp.Network(a)
					if err != nil {
						return err
					}
					params = append(params, float64(net.Params()))
				}
				against, column, source = t.Metrics()[0], t.Metrics()[0], fmt.Sprintf("%s (seed %d)", table, seed)
			}
			w, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			fmt.Fprintf(w, "%d NB201 archs of %s against %s\n", len(archs), source, against)
			fmt.Fprintf(w, "%-9s %9s %8s %7s %9s %7s\n", "sampling", "spearman", "kendall", "top-10", "training", "s/eval")
			scores := map[string][]float64{}
			list := strings.Split(samplings, ",")
			for _, sampling := range list {
				o := opt
				o.Sampling = sampling
				if sampling == "fewshot" { // uniform paths, the supernet split on the first edge halfway
					o.Sampling, o.FewShot = "uniform", true
				}
				ev, err := evaluators.NewOneShot(sp, o)
				if err != nil {
					return err
				}
				fmt.Fprintf(errw, "supernet: %s\n", ev.Describe())
				saved := ""
				if supernets != "" {
					saved = filepath.Join(supernets, sampling+".supernet")
					if err := loadSupernet(ev, saved); err != nil {
						return err
					}
				}
				start := time.Now()
				for ev.Learning() {
					if err := ev.Learn(cmd.Context()); err != nil {
						return err
					}
					r := ev.Reports()[len(ev.Reports())-1]
					fmt.Fprintf(errw, "%s supernet epoch %d/%d: train loss %.4f (%.0f s)\n", sampling, r.Step, r.Of, r.Values["train_loss"], r.Values["seconds"])
				}
				trained := time.Since(start)
				if saved != "" {
					if err := saveSupernet(ev, saved); err != nil {
						return err
					}
				}
				sc, loss, negLoss, angle := make([]float64, len(archs)), make([]float64, len(archs)), make([]float64, len(archs)), make([]float64, len(archs))
				var evalTime time.Duration
				for i, a := range archs {
					t0 := time.Now()
					out, err := ev.Evaluate(cmd.Context(), engine.Job{Arch: a}, nil)
					if err != nil {
						return fmt.Errorf("%s: %w", a, err)
					}
					evalTime += time.Since(t0)
					sc[i], loss[i], angle[i] = out.Metrics["oneshot_accuracy"], out.Metrics["oneshot_loss"], out.Metrics["oneshot_angle"]
					negLoss[i] = -loss[i] // lower is better: ranked as its negation
				}
				scores[sampling], scores[sampling+"_loss"], scores[sampling+"_angle"] = sc, loss, angle
				fmt.Fprintf(w, "%-9s %9.3f %8.3f %7.2f %9s %7.3f\n", sampling, stats.Spearman(sc, truth), stats.Kendall(sc, truth),
					stats.TopOverlap(sc, truth, 10), trained.Round(time.Second), evalTime.Seconds()/float64(len(archs)))
				row := func(label string, score []float64, says string) {
					fmt.Fprintf(w, "%-9s %9.3f %8.3f %7.2f   (%s)\n", label, stats.Spearman(score, truth), stats.Kendall(score, truth), stats.TopOverlap(score, truth, 10), says)
				}
				row("  loss", negLoss, "the same paths ranked by their loss")
				row("  angle", angle, "by how far training turned their ops' weights; no data")
				row("  +angle", stats.MeanRank(negLoss, angle), "the mean of the loss's rank and the angle's: the supernet alone")
				row("  +params", stats.MeanRank(negLoss, params), "the mean of the loss's rank and params'")
				row("  +both", stats.MeanRank(negLoss, angle, params), "the mean of the loss's, the angle's and params' ranks")
			}
			fmt.Fprintf(w, "%-9s %9.3f %8.3f %7.2f\n", "params", stats.Spearman(params, truth), stats.Kendall(params, truth), stats.TopOverlap(params, truth, 10))
			if csvPath == "" {
				return nil
			}
			return writeOneShotCSV(csvPath, column, archs, truth, list, scores)
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "NAS-Bench-201 CSV table (arch column, then the accuracy), or nb201 (built in)")
	f.StringVar(&truthPath, "groundtruth", "", "ground truth CSV `file` from cellar bench groundtruth")
	f.IntVar(&n, "n", 200, "with --table: archs to sample")
	f.Uint64Var(&seed, "seed", 1, "seed of the sample and the supernet")
	f.StringVar(&samplings, "sampling", "uniform", "comma-separated: uniform (single-path one-shot), fair (FairNAS), fewshot (uniform, split on the first edge halfway)")
	f.StringVar(&csvPath, "csv", "", "also write every arch's scores to this CSV `file`")
	f.StringVar(&supernets, "supernets", "", "keep each trained supernet in this `folder` (SAMPLING.supernet), and take up one found there instead of training it again")
	f.StringVar(&opt.Dataset, "dataset", "mnist", "data the supernet trains on: mnist, fashion-mnist or cifar10")
	f.StringVar(&opt.Path, "path", "", "the dataset's folder, where it is not built in")
	f.IntVar(&opt.Epochs, "epochs", evaluators.DefaultOneShot.Epochs, "supernet training epochs")
	f.IntVar(&opt.Train, "train", evaluators.DefaultOneShot.Train, "training examples")
	f.IntVar(&opt.Channels, "channels", evaluators.DefaultOneShot.Channels, "supernet channels")
	f.IntVar(&opt.Depth, "depth", spaces.SearchDepth["nb201"], "supernet cells a stage")
	f.IntVar(&opt.Val, "val", evaluators.DefaultOneShot.Val, "held-out examples, from the end of the training set (a ground truth is scored on its last 5,000)")
	f.IntVar(&opt.ScoreSize, "score-size", evaluators.DefaultOneShot.ScoreSize, "held-out examples each arch is scored on, the first of --val")
	f.Float64Var(&opt.SplitAt, "split", evaluators.DefaultOneShot.SplitAt, "with fewshot: the fraction of the epochs before the split")
	f.IntVar(&opt.Finetune, "finetune", 0, "steps that train each arch's path alone before it is scored (its weights put back after)")
	f.Float64Var(&opt.FinetuneLR, "finetune-lr", evaluators.DefaultOneShot.FinetuneLR, "with --finetune: the fine-tuning's first learning rate (cosine to 0)")
	f.IntVar(&opt.Recalibrate, "recalibrate", evaluators.DefaultOneShot.Recalibrate, "batches that re-estimate batch norm per arch")
	cmd.PreRun = func(*cobra.Command, []string) { opt.Seed = seed }
	return cmd
}

// loadSupernet takes up the supernet saved at path, if there is one.
func loadSupernet(ev *evaluators.OneShot, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := ev.Load(f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// saveSupernet writes the supernet to path, whole or not at all.
func saveSupernet(ev *evaluators.OneShot, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := ev.Save(&buf); err != nil {
		return err
	}
	return replaceFile(path, buf.Bytes())
}

// writeOneShotCSV writes each arch's truth and its score under each sampling.
func writeOneShotCSV(path, column string, archs []spaces.Arch, truth []float64, samplings []string, scores map[string][]float64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("oneshot csv: %w", err)
	}
	cw := csv.NewWriter(f)
	head := []string{"arch", column}
	for _, s := range samplings {
		head = append(head, "oneshot_"+s, "oneshot_"+s+"_loss", "oneshot_"+s+"_angle")
	}
	cw.Write(head)
	for i, a := range archs {
		rec := []string{a.String(), strconv.FormatFloat(truth[i], 'g', -1, 64)}
		for _, s := range samplings {
			for _, col := range []string{s, s + "_loss", s + "_angle"} {
				rec = append(rec, strconv.FormatFloat(scores[col][i], 'g', -1, 64))
			}
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		f.Close()
		return fmt.Errorf("oneshot csv: %w", err)
	}
	return f.Close()
}
