package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"cellar/engine"
	"cellar/spaces"
	"cellar/storage"
	"cellar/strategies"
)

// scalingRow is one trial of a compound scaling experiment, with what its
// coefficients make of the base network.
type scalingRow struct {
	Trial      uint64             `json:"trial"`
	Role       string             `json:"role"`
	Alpha      float64            `json:"alpha"`
	Beta       float64            `json:"beta"`
	Gamma      float64            `json:"gamma"`
	Phi        float64            `json:"phi"`
	Depth      float64            `json:"depth"` // multipliers: alpha^phi, beta^phi, gamma^phi
	Width      float64            `json:"width"`
	Resolution float64            `json:"resolution"`
	Input      [3]int             `json:"input"`
	FLOPs      int64              `json:"flops"`
	Params     int                `json:"params"`
	State      engine.State       `json:"state"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Error      string             `json:"error,omitempty"`
}

// scalingRows reads a compound scaling experiment's trials as its table of results.
func scalingRows(x *storage.Experiment, trials []engine.Trial) ([]scalingRow, error) {
	src, err := x.Source()
	if err != nil {
		return nil, err
	}
	cfg, err := engine.ParseConfig(src)
	if err != nil {
		return nil, fmt.Errorf("experiment %d's config: %w", x.ID, err)
	}
	if cfg.Strategy.Name != "compound" {
		return nil, fmt.Errorf("experiment %d is not a compound scaling search (its strategy is %s)", x.ID, cfg.Strategy.Name)
	}
	space, err := engine.ExperimentSpace(cfg)
	if err != nil {
		return nil, fmt.Errorf("experiment %d's space: %w", x.ID, err)
	}
	strat, err := engine.BuildStrategy(cfg.Strategy, space, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("experiment %d's strategy: %w", x.ID, err)
	}
	compound := strat.(*strategies.Compound)
	cp, err := x.Checkpoint()
	if err != nil {
		return nil, err
	}
	if cp != nil {
		if err := compound.Restore(cp.Strategy); err != nil {
			return nil, err
		}
	}
	archs := make([]string, len(trials))
	for i, t := range trials {
		archs[i] = t.Arch
	}
	roles := compound.Roles(archs)
	var rows []scalingRow
	for i, t := range trials {
		a, err := space.Parse([]byte(t.Arch))
		if err != nil {
			return nil, fmt.Errorf("trial %d: %w", t.ID, err)
		}
		sa := a.(spaces.ScaledArch)
		s := sa.Scaling()
		r := scalingRow{Trial: t.ID, Role: roles[i], Alpha: sa.Alpha, Beta: sa.Beta, Gamma: sa.Gamma, Phi: sa.Phi,
			Depth: s.Depth, Width: s.Width, Resolution: s.Resolution, State: t.State, Metrics: t.Metrics, Error: t.Error}
		if net, err := space.Network(sa); err == nil {
			in := net.Layers[0].Shape
			r.Input, r.FLOPs, r.Params = [3]int{in.C, in.H, in.W}, net.FLOPs(), net.Params()
		} else if r.Error == "" {
			r.Error = err.Error()
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func printScaling(w io.Writer, rows []scalingRow) {
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
				vals[i] = fmt.Sprintf("%.4g", v)
			}
		}
		state := string(r.State)
		if r.Error != "" {
			state += " (" + r.Error + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%.3g\t%.3g\t%.3g\t%.3g\t×%.3f\t×%.3f\t×%.3f\t%dx%dx%d\t%.4g\t%.4g\t%s\t%s\n", r.Trial, r.Role, r.Alpha, r.Beta, r.Gamma, r.Phi,
			r.Depth, r.Width, r.Resolution, r.Input[0], r.Input[1], r.Input[2], float64(r.FLOPs), float64(r.Params), strings.Join(vals, "\t"), state)
	}
	tw.Flush()
}
