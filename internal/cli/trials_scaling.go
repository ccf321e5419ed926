package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"cellar/engine"
	"cellar/internal/num"
	"cellar/storage"
)

// scalingRows reads a stored compound scaling experiment's table of results.
func scalingRows(x *storage.Experiment, trials []engine.Trial) ([]engine.ScalingRow, error) {
	src, err := x.Source()
	if err != nil {
		return nil, err
	}
	cp, err := x.Checkpoint()
	if err != nil {
		return nil, err
	}
	rows, err := engine.ScalingRows(src, trials, cp)
	if err != nil {
		return nil, fmt.Errorf("experiment %d: %w", x.ID, err)
	}
	return rows, nil
}

func printScaling(w io.Writer, rows []engine.ScalingRow) {
	var trials []engine.Trial
	for _, r := range rows {
		trials = append(trials, engine.Trial{Metrics: r.Metrics})
	}
	metrics := slices.DeleteFunc(engine.MetricNames(trials), func(m string) bool { return m == "flops" || m == "params" })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tROLE\tALPHA\tBETA\tGAMMA\tPHI\tDEPTH\tWIDTH\tRES\tINPUT\tFLOPS\tPARAMS\t%s\tSTATE\n", strings.ToUpper(strings.Join(metrics, "\t")))
	for _, r := range rows {
		vals := make([]string, len(metrics))
		for i, m := range metrics {
			vals[i] = "-"
			if v, ok := r.Metrics[m]; ok {
				vals[i] = num.Plain(v)
			}
		}
		state := string(r.State)
		if r.Duplicate != 0 {
			state = fmt.Sprintf("dup of %d (the same network)", r.Duplicate)
		}
		if r.Error != "" {
			state += " (" + r.Error + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.3g\t%.3g\t%.3g\t%.3g\t×%.3f\t×%.3f\t×%.3f\t%dx%dx%d\t%d\t%d\t%s\t%s\n", r.Trial, r.Role, r.Alpha, r.Beta, r.Gamma, r.Phi,
			r.Effective.Depth, r.Effective.Width, r.Effective.Resolution, r.Input[0], r.Input[1], r.Input[2], r.FLOPs, r.Params, strings.Join(vals, "\t"), state)
	}
	tw.Flush()
}
