package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/atomicfile"
	"cellar/spaces"
	"cellar/stats"
)

// OneShotRun is one sampling's supernet, trained and scored on a list of archs.
type OneShotRun struct {
	Acc, Loss, Angle []float64 // of the archs scored, in order
	Epochs           int       // trained, loaded ones included
	Trained          bool      // all epochs
	Training         time.Duration
	Scoring          time.Duration
}

// RunOneShot trains the supernet of one sampling (o; sampling names it in progress
// lines, written to progress), taking up the one saved at saved, if any, and saving
// it there after every epoch; then it scores archs in order. When ctx ends it returns
// what it had done, with the error: the epochs finished are in saved, and the same
// call goes on from them.
func RunOneShot(ctx context.Context, progress io.Writer, sp spaces.Space, o evaluators.OneShotOptions, sampling, saved string, archs []spaces.Arch) (OneShotRun, error) {
	var run OneShotRun
	ev, err := evaluators.NewOneShot(sp, o)
	if err != nil {
		return run, err
	}
	fmt.Fprintf(progress, "supernet: %s\n", ev.Describe())
	if saved != "" {
		if err := LoadSupernet(ev, saved); err != nil {
			return run, err
		}
	}
	start := time.Now()
	if rs := ev.Reports(); len(rs) > 0 { // taken up part way
		run.Epochs = rs[len(rs)-1].Step
	}
	for ev.Learning() {
		if err := ev.Learn(ctx); err != nil {
			return run, err
		}
		r := ev.Reports()[len(ev.Reports())-1]
		run.Epochs = r.Step
		fmt.Fprintf(progress, "%s supernet epoch %d/%d: train loss %.4f (%.0f s)\n", sampling, r.Step, r.Of, r.Values["train_loss"], r.Values["seconds"])
		if saved != "" {
			if err := SaveSupernet(ev, saved); err != nil {
				return run, err
			}
		}
	}
	run.Trained, run.Epochs, run.Training = true, o.Epochs, time.Since(start)
	every := max(1, len(archs)/10) // a progress line at every tenth
	for i, a := range archs {
		if i > 0 && i%every == 0 {
			fmt.Fprintf(progress, "%s scored %d/%d archs (%.2f s each)\n", sampling, i, len(archs), run.Scoring.Seconds()/float64(i))
		}
		if err := ctx.Err(); err != nil {
			return run, err
		}
		t0 := time.Now()
		out, err := ev.Evaluate(ctx, engine.Job{Arch: a}, nil)
		if err != nil {
			return run, fmt.Errorf("%s: %w", a, err)
		}
		run.Scoring += time.Since(t0)
		run.Acc = append(run.Acc, out.Metrics["oneshot_accuracy"])
		run.Loss = append(run.Loss, out.Metrics["oneshot_loss"])
		run.Angle = append(run.Angle, out.Metrics["oneshot_angle"])
	}
	return run, nil
}

// Correlation is how one score ranks archs against their truth.
type Correlation struct {
	Label             string
	Spearman, Kendall float64
	Top10             float64 // the fraction of the truth's top 10 among the score's
	Says              string  // what the score is
}

// Correlate is a score's Correlation against truth.
func Correlate(label string, score, truth []float64, says string) Correlation {
	return Correlation{label, stats.Spearman(score, truth), stats.Kendall(score, truth), stats.TopOverlap(score, truth, 10), says}
}

// Rank is a sampling's ranking of the archs as a one-shot rung ranks by default
// (evaluators.OneShot.DefaultRank): the mean of the ranks of its loss (lower is
// better), its angle and live params.
func (run OneShotRun) Rank(live []float64) []float64 {
	return stats.MeanRank(run.negLoss(), run.Angle, live)
}

func (run OneShotRun) negLoss() []float64 {
	negLoss := make([]float64, len(run.Loss))
	for i, l := range run.Loss {
		negLoss[i] = -l // lower is better: ranked as its negation
	}
	return negLoss
}

// Rows are a sampling's other rankings, after its default Rank: by its accuracy, its
// loss, its angle and their combinations with params (the proxy's scores of the
// same archs), each against truth.
func (run OneShotRun) Rows(truth, params []float64) []Correlation {
	negLoss := run.negLoss()
	return []Correlation{
		Correlate("  acc", run.Acc, truth, "the paths ranked by their accuracy"),
		Correlate("  loss", negLoss, truth, "the same paths ranked by their loss"),
		Correlate("  angle", run.Angle, truth, "by how far training turned their ops' weights; no data"),
		Correlate("  +angle", stats.MeanRank(negLoss, run.Angle), truth, "the mean of the loss's rank and the angle's: the supernet alone"),
		Correlate("  +params", stats.MeanRank(negLoss, params), truth, "the mean of the loss's rank and params'"),
		Correlate("  +both", stats.MeanRank(negLoss, run.Angle, params), truth, "the mean of the loss's, the angle's and params' ranks"),
	}
}

// LoadSupernet takes up the supernet saved at path, if there is one.
func LoadSupernet(ev *evaluators.OneShot, path string) error {
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

// SaveSupernet writes the supernet to path, whole or not at all.
func SaveSupernet(ev *evaluators.OneShot, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := ev.Save(&buf); err != nil {
		return err
	}
	return atomicfile.Replace(path, buf.Bytes())
}

// WriteOneShotCSV writes each arch's truth (under column) and its scores under each
// sampling (scores[s], scores[s+"_loss"], scores[s+"_angle"]).
func WriteOneShotCSV(path, column string, archs []spaces.Arch, truth []float64, samplings []string, scores map[string][]float64) error {
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
