package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/internal/num"
)

func newTrialsCmd() *cobra.Command {
	var db, exp string
	var asJSON, front, scaling, rungs bool
	cmd := &cobra.Command{
		Use:   "trials --db F [--exp ID] [--json] [--front] [--scaling | --rungs]",
		Short: "List an experiment's trials (the newest experiment by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, x, err := openExperiment(db, exp)
			if err != nil {
				return err
			}
			defer d.Close()
			snapshotNote(cmd, d)
			trials, err := x.Trials()
			if err != nil {
				return err
			}
			if front {
				cp, err := x.Checkpoint()
				if err != nil {
					return err
				}
				if cp == nil || len(cp.Front) == 0 {
					return fmt.Errorf("experiment %d keeps no Pareto front (it has one objective, or no trial is done)", x.ID)
				}
				trials = slices.DeleteFunc(trials, func(t engine.Trial) bool { return !slices.Contains(cp.Front, t.ID) })
			}
			if rungs {
				return printRungs(cmd.OutOrStdout(), x.ID, trials, asJSON)
			}
			if scaling {
				rows, err := scalingRows(x, trials)
				if err != nil {
					return err
				}
				if !asJSON {
					printScaling(cmd.OutOrStdout(), rows)
					return nil
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Experiment uint64              `json:"experiment"`
					Scaling    []engine.ScalingRow `json:"scaling"`
				}{x.ID, rows})
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Experiment uint64         `json:"experiment"`
					Trials     []engine.Trial `json:"trials"`
				}{x.ID, orEmpty(trials)})
			}
			printTrials(cmd.OutOrStdout(), trials)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&exp, "exp", "", "experiment `ID` (default: the newest)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&scaling, "scaling", false, "the table of a compound scaling search: each trial's coefficients, multipliers, input, FLOPs and params")
	cmd.Flags().BoolVar(&front, "front", false, "only the trials on the Pareto front (experiments with two or more objectives)")
	cmd.Flags().BoolVar(&rungs, "rungs", false, "a cascade's rungs: trials that reached and passed each, and the rank correlation of each rung with the next")
	return cmd
}

func orEmpty(t []engine.Trial) []engine.Trial {
	if t == nil {
		return []engine.Trial{}
	}
	return t
}

func printTrials(w io.Writer, trials []engine.Trial) {
	metrics := engine.MetricNames(trials)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tSTATE\tORIGIN\tPARENT\t%s\tSECONDS\tARCH\n", strings.ToUpper(strings.Join(metrics, "\t")))
	for _, t := range trials {
		vals := make([]string, len(metrics))
		for i, m := range metrics {
			if v, ok := t.Metrics[m]; ok {
				vals[i] = num.Plain(v)
			} else {
				vals[i] = "-"
			}
		}
		parent := "-"
		if t.Parent != 0 {
			parent = fmt.Sprint(t.Parent)
		}
		arch := t.Arch
		if t.State == engine.Failed {
			arch += "  (" + t.Error + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.3f\t%s\n", t.ID, t.Status(), t.Origin, parent, strings.Join(vals, "\t"), t.Duration().Seconds(), arch)
	}
	tw.Flush()
}

func printRungs(w io.Writer, id uint64, trials []engine.Trial, asJSON bool) error {
	// A duplicate took its first trial's rungs and reached none itself.
	trials = slices.DeleteFunc(slices.Clone(trials), func(t engine.Trial) bool { return t.Duplicate != 0 })
	var rows []rungRow
	for _, t := range trials {
		for _, r := range t.Rungs {
			for len(rows) <= r.Rung {
				rows = append(rows, rungRow{Rung: len(rows)})
			}
			rows[r.Rung].Evaluator = r.Evaluator
			rows[r.Rung].Reached++
			if r.Promoted {
				rows[r.Rung].Promoted++
			}
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("experiment %d has no rungs: its evaluator is not a cascade", id)
	}
	for _, c := range engine.RungCorrelations(trials) {
		rows[c.From].N, rows[c.From].Spearman, rows[c.From].Kendall = c.N, c.Spearman, c.Kendall
		rows[c.From].ParamsKendall, rows[c.From].WithParamsKendall = c.ParamsKendall, c.WithParamsKendall
		rows[c.From].LiveParamsKendall = c.LiveParamsKendall
	}
	if asJSON {
		for i := range rows { // JSON has no NaN: too few trials reached both
			if math.IsNaN(rows[i].Spearman) {
				rows[i].Spearman, rows[i].Kendall = 0, 0
			}
			if math.IsNaN(rows[i].ParamsKendall) {
				rows[i].ParamsKendall = 0
			}
			if math.IsNaN(rows[i].WithParamsKendall) { // also when the two orders cancel out
				rows[i].WithParamsKendall = 0
			}
			if math.IsNaN(rows[i].LiveParamsKendall) {
				rows[i].LiveParamsKendall = 0
			}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Experiment uint64    `json:"experiment"`
			Rungs      []rungRow `json:"rungs"`
		}{id, rows})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUNG\tEVALUATOR\tREACHED\tPROMOTED\tVS NEXT (n, Spearman, Kendall)\tPARAMS VS NEXT (Kendall)\tWITH PARAMS (mean rank, Kendall)\tLIVE PARAMS VS NEXT (Kendall)")
	for i, r := range rows {
		next, params, both, live := "-", "-", "-", "-"
		switch {
		case i+1 < len(rows) && math.IsNaN(r.Spearman):
			next = fmt.Sprintf("%d, too few to rank", r.N)
		case i+1 < len(rows):
			next = fmt.Sprintf("%d, %.3f, %.3f", r.N, r.Spearman, r.Kendall)
			if !math.IsNaN(r.ParamsKendall) {
				params = fmt.Sprintf("%.3f", r.ParamsKendall)
				if r.Kendall < r.ParamsKendall {
					params += " (ranks better than the rung)"
				}
				if !math.IsNaN(r.WithParamsKendall) { // NaN when the two orders cancel out
					both = fmt.Sprintf("%.3f", r.WithParamsKendall)
				}
			}
			if !math.IsNaN(r.LiveParamsKendall) {
				live = fmt.Sprintf("%.3f", r.LiveParamsKendall)
				if r.Kendall < r.LiveParamsKendall {
					live += " (ranks better than the rung)"
				}
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", r.Rung, r.Evaluator, r.Reached, r.Promoted, next, params, both, live)
	}
	return tw.Flush()
}
