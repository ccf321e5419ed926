package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cellar/bench"
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
scores' top 10, and the time per evaluation: first (the sampling's own line) by the
mean of the ranks of the loss, the angle and live params, which is how a one-shot rung
of a cascade ranks by default; then by accuracy; by loss; by the angle training
turned each path's op weights from their initial values (ABS; no data); by the mean of
the loss's rank and the angle's (+angle: the supernet alone), of the loss's and the
params proxy's (+params) and of all three (+both); then the params proxy's on the same
archs, and live params' (the ones the output depends on: params also counts the convs
of edges the cell's output cannot see).
--groundtruth takes a table that cellar bench groundtruth trained at the supernet's
skeleton and data: the supernet takes the --dataset, --train, --channels and --depth
the table keeps beside it (F.settings.json for F.csv) unless they are given, and says
where given ones differ (for a table without settings, give the ones it was built
with). --table samples --n archs of a NAS-Bench-201 table: its accuracies are for
CIFAR-10 training, so that measures how well the ranking transfers.
Ctrl-C stops it: in training at once, the epoch in progress dropped and the finished
ones kept in --supernets (the same command goes on from them); in scoring, with the rows
of the archs scored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (table == "") == (truthPath == "") {
				return fmt.Errorf("give one of --table F (e.g. nb201) or --groundtruth F (from cellar bench groundtruth)")
			}
			sp, err := spaces.NewNB201(spaces.DefaultNB201)
			if err != nil {
				return err
			}
			truth, unlike, err := oneShotTruth(cmd, sp, &opt, table, truthPath, n, seed)
			if err != nil {
				return err
			}
			// Ctrl-C or SIGTERM stops training at once, dropping the epoch in progress
			// (the finished ones are in --supernets, so the same command goes on from
			// there), or scoring between archs, with the rows of the archs scored so far
			// printed.
			ctx, got, stop := onSignal(cmd.Context())
			defer stop()
			w, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			fmt.Fprintf(w, "%d NB201 archs of %s against %s\n", len(truth.Archs), truth.Source, truth.Against)
			if unlike != "" {
				fmt.Fprintln(w, unlike)
			}
			fmt.Fprintf(w, "%-9s %9s %8s %7s %9s %7s\n", "sampling", "spearman", "kendall", "top-10", "training", "s/eval")
			// live params at the skeleton the truth was trained at.
			skeleton := sp
			if truthPath != "" {
				// The stem's input channels aside, which add the same to every arch.
				if skeleton, err = spaces.NewNB201(spaces.NB201Options{Options: spaces.CIFAR, Channels: opt.Channels, Cells: opt.Depth}); err != nil {
					return err
				}
			}
			live, err := bench.LiveParams(skeleton, truth.Archs)
			if err != nil {
				return err
			}
			rep := oneShotReport{w: w, truth: truth, live: live}
			scores := map[string][]float64{}
			list := strings.Split(samplings, ",")
			for _, sampling := range list {
				o := opt
				o.Sampling = sampling
				if sampling == "fewshot" { // uniform paths, the supernet split on the first edge halfway
					o.Sampling, o.FewShot = "uniform", true
				}
				saved := ""
				if supernets != "" {
					saved = filepath.Join(supernets, sampling+".supernet")
				}
				run, err := bench.RunOneShot(ctx, errw, sp, o, sampling, saved, truth.Archs)
				sig := got()
				if err != nil && (ctx.Err() == nil || sig == nil) {
					return err
				}
				if scored := len(run.Loss); scored >= 3 {
					printOneShotRows(w, sampling, run, truth.Acc[:scored], truth.Params[:scored], live[:scored])
				}
				if err != nil {
					rep.interrupted(sampling, run, o.Epochs, saved, len(scores) > 0)
					return stoppedBy(sig)
				}
				scores[sampling], scores[sampling+"_loss"], scores[sampling+"_angle"] = run.Acc, run.Loss, run.Angle
			}
			rep.params(len(truth.Archs), "")
			if csvPath == "" {
				return nil
			}
			return bench.WriteOneShotCSV(csvPath, truth.Column, truth.Archs, truth.Acc, list, scores)
		},
	}
	f := cmd.Flags()
	f.StringVar(&table, "table", "", "NAS-Bench-201 CSV table (arch column, then the accuracy), or nb201 (built in)")
	f.StringVar(&truthPath, "groundtruth", "", "ground truth CSV `file` from cellar bench groundtruth")
	f.IntVar(&n, "n", 200, "with --table: archs to sample")
	f.Uint64Var(&seed, "seed", 1, "seed of the sample and the supernet")
	f.StringVar(&samplings, "sampling", "uniform", "comma-separated: uniform (single-path one-shot), fair (FairNAS), fewshot (uniform, split on the first edge halfway)")
	f.StringVar(&csvPath, "csv", "", "also write every arch's scores to this CSV `file`")
	f.StringVar(&supernets, "supernets", "", "keep each supernet in this `folder` (SAMPLING.supernet, saved after every epoch), and take up one found there instead of training it again")
	f.StringVar(&opt.Dataset, "dataset", "mnist", "data the supernet trains on: mnist, fashion-mnist or cifar10")
	f.StringVar(&opt.Path, "path", "", "the dataset's folder, where it is not built in")
	f.IntVar(&opt.Epochs, "epochs", evaluators.DefaultOneShot.Epochs, "supernet training epochs")
	f.IntVar(&opt.Train, "train", evaluators.DefaultOneShot.Train, "training examples")
	f.IntVar(&opt.Channels, "channels", evaluators.DefaultOneShot.Channels, "supernet channels")
	f.IntVar(&opt.Depth, "depth", (&spaces.NB201{}).SearchDepth(), "supernet cells a stage")
	f.IntVar(&opt.Val, "val", evaluators.DefaultOneShot.Val, "held-out examples, from the end of the training set (a ground truth is scored on its last 5,000)")
	f.IntVar(&opt.ScoreSize, "score-size", evaluators.DefaultOneShot.ScoreSize, "held-out examples each arch is scored on, the first of --val")
	f.Float64Var(&opt.SplitAt, "split", evaluators.DefaultOneShot.SplitAt, "with fewshot: the fraction of the epochs before the split")
	f.IntVar(&opt.Finetune, "finetune", 0, "steps that train each arch's path alone before it is scored (its weights put back after)")
	f.Float64Var(&opt.FinetuneLR, "finetune-lr", evaluators.DefaultOneShot.FinetuneLR, "with --finetune: the fine-tuning's first learning rate (cosine to 0)")
	f.IntVar(&opt.Recalibrate, "recalibrate", evaluators.DefaultOneShot.Recalibrate, "batches that re-estimate batch norm per arch")
	cmd.PreRun = func(*cobra.Command, []string) { opt.Seed = seed }
	return cmd
}

// oneShotTruth is what the one-shot scores are measured against: a sample of a
// table, or a ground truth, whose data and skeleton the supernet then takes unless
// flags say otherwise (unlike says where they differ).
func oneShotTruth(cmd *cobra.Command, sp spaces.Space, opt *evaluators.OneShotOptions, table, truthPath string, n int, seed uint64) (t bench.Truth, unlike string, err error) {
	if truthPath == "" {
		t, err = bench.TableTruth(sp, table, n, seed)
		return t, "", err
	}
	if t, err = bench.GroundTruth(sp, truthPath); err != nil {
		return t, "", err
	}
	// Like for like: the supernet takes the table's data and skeleton unless told
	// otherwise, and the output says where it was.
	kept, err := groundtruth.LoadSettings(truthPath)
	if err != nil || kept == nil {
		return t, "", err
	}
	differ := matchTable(cmd, []tableFlag{bind("dataset", &opt.Dataset, kept.Dataset), bind("train", &opt.Train, kept.Train),
		bind("channels", &opt.Channels, kept.Channels), bind("depth", &opt.Depth, kept.Depth)})
	if len(differ) > 0 {
		unlike = "not like for like: " + differsFrom(truthPath, differ)
	}
	return t, unlike, nil
}

// oneShotReport prints the rows that do not belong to one sampling.
type oneShotReport struct {
	w     io.Writer
	truth bench.Truth
	live  []float64
}

// params prints the params proxy's rows over the first n archs.
func (r oneShotReport) params(n int, says string) {
	params, live, truth := r.truth.Params[:n], r.live[:n], r.truth.Acc[:n]
	fmt.Fprintf(r.w, "%-9s %9.3f %8.3f %7.2f%s\n", "params", stats.Spearman(params, truth), stats.Kendall(params, truth),
		stats.TopOverlap(params, truth, 10), says)
	fmt.Fprintf(r.w, "%-9s %9.3f %8.3f %7.2f   (live params: the ones the output depends on)\n", "  live", stats.Spearman(live, truth),
		stats.Kendall(live, truth), stats.TopOverlap(live, truth, 10))
}

// interrupted says where a sampling stopped and how to go on: in training (the
// samplings before it, if any, were scored on every arch), or in scoring.
func (r oneShotReport) interrupted(sampling string, run bench.OneShotRun, epochs int, saved string, before bool) {
	w, scored, all := r.w, len(run.Loss), len(r.truth.Archs)
	if !run.Trained {
		if before {
			r.params(all, "")
		}
		fmt.Fprintf(w, "interrupted: the %s supernet had trained %d of %d epochs", sampling, run.Epochs, epochs)
		if saved != "" {
			fmt.Fprintf(w, "; they are in %s: run the same command to go on\n", saved)
		} else {
			fmt.Fprintf(w, "; give --supernets DIR to keep them between runs\n")
		}
		return
	}
	if scored >= 3 {
		r.params(scored, fmt.Sprintf("   (the same %d archs)", scored))
	}
	fmt.Fprintf(w, "interrupted: %s scored %d of %d archs (its rows above are theirs)", sampling, scored, all)
	if saved != "" {
		fmt.Fprintf(w, "; its trained supernet is in %s: run the same command to score without training\n", saved)
	} else {
		fmt.Fprintln(w)
	}
}

// printOneShotRows prints a sampling's rows: its default rank's, then its accuracy's,
// its loss's, its angle's and their combinations', each against truth (params and
// live: the params and live params proxies' scores of the same archs).
func printOneShotRows(w io.Writer, sampling string, run bench.OneShotRun, truth, params, live []float64) {
	rank := run.Rank(live)
	fmt.Fprintf(w, "%-9s %9.3f %8.3f %7.2f %9s %7.3f   (rank: [oneshot_loss:min, oneshot_angle, live_params], the one-shot rung's default)\n", sampling,
		stats.Spearman(rank, truth), stats.Kendall(rank, truth), stats.TopOverlap(rank, truth, 10), run.Training.Round(time.Second), run.Scoring.Seconds()/float64(len(run.Loss)))
	for _, r := range run.Rows(truth, params) {
		fmt.Fprintf(w, "%-9s %9.3f %8.3f %7.2f   (%s)\n", r.Label, r.Spearman, r.Kendall, r.Top10, r.Says)
	}
}
