package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"cellar/latency"
	"cellar/spaces"
)

// Constraints are hardware limits on the archs a search may propose: upper bounds on
// params, FLOPs (of one sample's forward pass) and latency (ms, estimated from this
// machine's latency table). In reject mode the space gives only archs within them;
// in penalise mode every arch is evaluated and the scores of those over a limit are
// scaled down, as MnasNet does.
type Constraints struct {
	Params  float64 `yaml:"params"`  // 0 for no limit
	FLOPs   float64 `yaml:"flops"`   // 0 for no limit
	Latency float64 `yaml:"latency"` // ms; 0 for no limit
	Mode    string  `yaml:"mode"`    // reject (the default) or penalise
	// Penalty is the exponent w of the factor (limit/value)^w that scales an over-limit
	// arch's scores, one factor per limit broken (1 when absent; MnasNet's soft
	// constraint is 0.07).
	Penalty float64 `yaml:"penalty"`
}

// Metrics a constrained search adds to each trial.
const (
	// MetricViolation is the largest relative excess over a limit: 0 within every
	// limit, 0.5 for an arch 50% over one.
	MetricViolation = "constraint_violation"
	// MetricPenalty is the factor (penalise mode) the trial's scores were scaled by.
	MetricPenalty = "constraint_penalty"
)

// Label says what the limits are, for displays: "latency ≤ 10 ms, params ≤ 1e+06 (reject)".
func (c *Constraints) Label() string {
	var parts []string
	for _, l := range []struct {
		name, unit string
		max        float64
	}{{"latency", " ms", c.Latency}, {"params", "", c.Params}, {"flops", "", c.FLOPs}} {
		if l.max > 0 {
			parts = append(parts, fmt.Sprintf("%s ≤ %.4g%s", l.name, l.max, l.unit))
		}
	}
	mode := c.Mode
	if mode == "" {
		mode = "reject"
	}
	return strings.Join(parts, ", ") + " (" + mode + ")"
}

// Penalise says whether over-limit archs are evaluated and penalised, not rejected.
func (c *Constraints) Penalise() bool { return c.Mode == "penalise" }

func (c *Constraints) check() error {
	if c.Params < 0 || c.FLOPs < 0 || c.Latency < 0 {
		return fmt.Errorf("constraints: limits must not be negative (params %g, flops %g, latency %g)", c.Params, c.FLOPs, c.Latency)
	}
	if c.Params == 0 && c.FLOPs == 0 && c.Latency == 0 {
		return errors.New("constraints: give at least one of params, flops, latency (e.g. constraints: {flops: 2e8})")
	}
	switch c.Mode {
	case "":
		c.Mode = "reject"
	case "penalize":
		c.Mode = "penalise"
	case "reject", "penalise":
	default:
		return fmt.Errorf("constraints: mode %q; use reject or penalise", c.Mode)
	}
	if c.Penalty <= 0 || c.Penalty > 10 {
		return fmt.Errorf("constraints: penalty %g; the exponent must be above 0 and at most 10", c.Penalty)
	}
	return nil
}

// Measures are the quantities the engine measures on an arch's IR, by metric name.
func Measures(lat *latency.Table) map[string]spaces.Limit {
	out := map[string]spaces.Limit{
		"params": {Name: "params", Measure: func(n *spaces.Net) float64 { return float64(n.Params()) }},
		"flops":  {Name: "flops", Measure: func(n *spaces.Net) float64 { return float64(n.FLOPs()) }},
	}
	if lat != nil {
		out["latency"] = spaces.Limit{Name: "latency", Unit: "ms", Measure: func(n *spaces.Net) float64 { return lat.Estimate(n).MS }}
	}
	return out
}

// ErrNoLatencyTable is why latency cannot be a limit or objective without a table.
var ErrNoLatencyTable = errors.New("latency is estimated from this machine's latency table, and none was loaded: run `cellar latency build --db F` with the experiment's database first")

// limits turns the constraints into the spaces' limits.
func (c *Constraints) limits(lat *latency.Table) ([]spaces.Limit, error) {
	m := Measures(lat)
	var out []spaces.Limit
	for _, l := range []struct {
		name string
		max  float64
	}{{"params", c.Params}, {"flops", c.FLOPs}, {"latency", c.Latency}} {
		if l.max == 0 {
			continue
		}
		lim, ok := m[l.name]
		if !ok {
			return nil, fmt.Errorf("constraints: %w", ErrNoLatencyTable)
		}
		lim.Max = l.max
		out = append(out, lim)
	}
	return out, nil
}

// constrain wraps the space in reject mode; it returns the space unchanged in
// penalise mode or without constraints. The draws that show the constrained space is
// not empty come from a generator of their own, so that they do not change the
// strategy's.
func constrain(cfg *Config, space spaces.Space) (spaces.Space, []spaces.Limit, error) {
	if cfg.Constraints == nil {
		return space, nil, nil
	}
	if err := cfg.Constraints.check(); err != nil {
		return nil, nil, err
	}
	limits, err := cfg.Constraints.limits(cfg.Latency)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Constraints.Penalise() {
		return space, limits, nil
	}
	c, err := spaces.Constrain(space, limits, rand.New(rand.NewPCG(cfg.Seed, 0xc0a57)))
	if err != nil {
		return nil, nil, err
	}
	return c, limits, nil
}

// measure reads off the arch's IR, from one build of its network, the params,
// flops and latency that the objectives and limits need. In reject mode an arch over
// a limit is an error here, before any evaluation: archs that do not come from the
// constrained space's Sample or Mutate (a controller's decoded tokens) fail at once,
// naming the limit.
func (e *Engine) measure(arch spaces.Arch) (map[string]float64, error) {
	var need []spaces.Limit
	for _, o := range e.exp.Config.Objectives {
		if m, ok := e.measures[o.Name]; ok {
			need = append(need, m)
		}
	}
	limits := e.limits()
	need = append(need, limits...)
	if e.opt.Simulate != nil { // the time model charges by FLOPs
		need = append(need, e.measures["flops"])
	}
	if len(need) == 0 {
		return nil, nil
	}
	net, err := e.exp.Space.Network(arch)
	if err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	vals := spaces.Measured(net, need)
	if _, reject := e.exp.Space.(*spaces.Constrained); reject {
		if v := spaces.Violations(vals, limits); len(v) > 0 {
			return nil, fmt.Errorf("constraint: %w", v[0])
		}
	}
	return vals, nil
}

// limits are the experiment's limits as steering has left them; workers read them
// while the engine's goroutine may change them.
func (e *Engine) limits() []spaces.Limit {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exp.Limits
}

// addMeasured adds the IR's values to an outcome where the evaluator gave none, and
// the constraint metrics.
func (e *Engine) addMeasured(vals map[string]float64, out *Outcome) {
	if len(vals) == 0 {
		return
	}
	if out.Metrics == nil {
		out.Metrics = map[string]float64{}
	}
	for name, v := range vals {
		if _, ok := out.Metrics[name]; !ok {
			out.Metrics[name] = v
		}
	}
	limits := e.limits()
	if limits == nil {
		return
	}
	c := e.exp.Config.Constraints
	worst, factor := 0.0, 1.0
	for _, v := range spaces.Violations(out.Metrics, limits) {
		worst = math.Max(worst, v.Value/v.Max-1)
		factor *= math.Pow(v.Max/v.Value, c.Penalty)
	}
	out.Metrics[MetricViolation] = worst
	if c.Penalise() {
		out.Metrics[MetricPenalty] = factor
	}
}

// penalised scales an oriented score (higher is better) by a penalty factor in
// (0, 1], making it worse whatever its sign.
func penalised(v, factor float64) float64 {
	if v >= 0 {
		return v * factor
	}
	return v / factor
}
