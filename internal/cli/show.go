package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/storage"
)

func newShowCmd() *cobra.Command {
	var db, exp string
	cmd := &cobra.Command{
		Use:   "show --db F [--exp ID] [TRIAL]",
		Short: "Show one trial (the best by default): arch, metrics, timings, learning curve and lineage",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tid uint64
			if len(args) == 1 {
				var err error
				if tid, err = parseID("trial", args[0]); err != nil {
					return err
				}
			}
			d, x, err := openExperiment(db, exp)
			if err != nil {
				return err
			}
			defer d.Close()
			snapshotNote(cmd, d)
			var t engine.Trial
			best := ""
			if tid == 0 {
				if t, err = bestTrial(x); err != nil {
					return err
				}
				best = ", its best"
			} else if t, err = x.Trial(tid); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "trial %d of experiment %d%s\n", t.ID, x.ID, best)
			fmt.Fprintf(w, "  state:    %s\n  origin:   %s\n  arch:     %s\n", t.Status(), t.Origin, t.Arch)
			if t.Duplicate != 0 {
				fmt.Fprintf(w, "  duplicate of trial %d: it computes the same (dedupe), so it took that trial's outcome and was not evaluated\n", t.Duplicate)
			}
			if t.Error != "" {
				fmt.Fprintf(w, "  error:    %s\n", t.Error)
			}
			if t.Stop != nil {
				fmt.Fprintf(w, "  stopped:  %s, at rung %d%s: %s\n", t.Stop.Rule, t.Stop.Rung, epochNote(t.Stop.Epoch), t.Stop.Reason)
			}
			for _, r := range t.Rungs {
				fmt.Fprintf(w, "  rung %d:   %s %s (promoted: %v)\n", r.Rung, r.Evaluator, formatMetrics(r.Metrics), r.Promoted)
			}
			if len(t.Metrics) > 0 {
				fmt.Fprintf(w, "  metrics:  %s\n", formatMetrics(t.Metrics))
			}
			if p := evaluators.WeightsPath(x.FilesDir(), t.ID); fileExists(p) {
				fmt.Fprintf(w, "  weights:  kept, %s (cellar export --trial %d)\n", p, t.ID)
			}
			fmt.Fprintf(w, "  queued:   %s\n", t.Queued.Format(time.RFC3339))
			if d := t.Duration(); d > 0 {
				fmt.Fprintf(w, "  ran:      %s from %s\n", d.Round(time.Microsecond), t.Started.Format(time.RFC3339))
			}
			// Lineage: follow parents while they are stored, showing the nearest ones.
			const shown = 8
			var chain []string
			depth := 0
			for p := t.Parent; p != 0; depth++ {
				if depth >= shown {
					pt, err := x.Trial(p)
					if err != nil {
						break
					}
					p = pt.Parent
					continue
				}
				pt, err := x.Trial(p)
				if err != nil {
					chain = append(chain, fmt.Sprintf("%d (not stored)", p))
					break
				}
				chain = append(chain, fmt.Sprintf("%d %s", pt.ID, formatMetrics(pt.Metrics)))
				p = pt.Parent
			}
			if depth > shown {
				chain = append(chain, fmt.Sprintf("... %d more ancestors", depth-shown))
			}
			if len(chain) > 0 {
				fmt.Fprintf(w, "  lineage:  %s\n", strings.Join(chain, "\n            <- "))
			}
			if len(t.Curve) > 0 {
				fmt.Fprintln(w, "  curve:")
				for _, c := range t.Curve {
					fmt.Fprintf(w, "    epoch %-6.3g step %-6d %s\n", c.Epoch, c.Step, formatMetrics(c.Metrics))
				}
			}
			if len(t.Log) > 0 {
				fmt.Fprintf(w, "  log (its last %d lines):\n", len(t.Log))
				for _, l := range t.Log {
					fmt.Fprintf(w, "    %s\n", l)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&exp, "exp", "", "experiment `ID` (default: the newest)")
	return cmd
}

// bestTrial is the experiment's best trial by its first objective.
func bestTrial(x *storage.Experiment) (engine.Trial, error) {
	obj, err := x.Objectives()
	if err != nil {
		return engine.Trial{}, err
	}
	trials, err := x.Trials()
	if err != nil {
		return engine.Trial{}, err
	}
	t, ok := engine.Best(trials, obj[0])
	if !ok {
		return t, fmt.Errorf("experiment %d has no done trial with %s yet (%d trials); give a trial id", x.ID, obj[0].Name, len(trials))
	}
	return t, nil
}

// epochNote is ", epoch N" for a stop during training, "" otherwise.
func epochNote(epoch float64) string {
	if epoch == 0 {
		return ""
	}
	return fmt.Sprintf(", epoch %g", epoch)
}

// rungRow is one rung of a cascade, as `cellar trials --rungs` reports it.
type rungRow struct {
	Rung      int     `json:"rung"`
	Evaluator string  `json:"evaluator"`
	Reached   int     `json:"reached"`
	Promoted  int     `json:"promoted"`
	N         int     `json:"n_next,omitempty"` // trials that reached this rung and the next
	Spearman  float64 `json:"spearman_next,omitempty"`
	Kendall   float64 `json:"kendall_next,omitempty"`
	// ParamsKendall is the parameter counts' Kendall tau against the next rung, over
	// the same trials: what this rung must beat to be worth its cost.
	ParamsKendall float64 `json:"params_kendall_next,omitempty"`
	// WithParamsKendall is the Kendall tau of the mean of this rung's rank and the
	// parameter counts' against the next rung: what `combine: mean_rank` would rank.
	WithParamsKendall float64 `json:"with_params_kendall_next,omitempty"`
	// LiveParamsKendall is ParamsKendall of the live parameter counts (the ones the
	// output depends on), where the rung reports them (the oneshot evaluator does).
	LiveParamsKendall float64 `json:"live_params_kendall_next,omitempty"`
}

// printRungs summarises a cascade's rungs from its stored trials.
