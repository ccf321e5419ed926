package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"cellar/latency"
)

// Config is an experiment, fully described: the same Config and seed give the same
// trials in the same order. It is read from YAML (or JSON, which YAML includes);
// unknown keys anywhere are errors.
type Config struct {
	Name        string      `yaml:"name"`
	Seed        uint64      `yaml:"seed"`
	Space       Component   `yaml:"space"`
	Strategy    Component   `yaml:"strategy"`
	Evaluator   Component   `yaml:"evaluator"`
	Objectives  []Objective `yaml:"objectives"`
	Budget      Budget      `yaml:"budget"`
	Parallelism int         `yaml:"parallelism"` // trials evaluated at once (1)
	// Dedupe says which trials the strategy asks are not evaluated but recorded as
	// duplicates of an earlier one: function, arch or none (see DefaultDedupe).
	Dedupe string `yaml:"dedupe,omitempty"`
	// Defaults is the generation of defaults the experiment was made with: a new
	// experiment has CurrentDefaults written into its source (PinDefaults); one stored
	// without it was made before and keeps the defaults it ran with (0: no dedupe,
	// the components' Legacy defaults), so that it replays as it ran.
	Defaults int `yaml:"defaults,omitempty"`
	// FailFast stops a search when this many trials have failed and none is done
	// (DefaultFailFast for the current defaults; 0: never).
	FailFast    *int         `yaml:"fail_fast,omitempty"`
	Constraints *Constraints `yaml:"constraints,omitempty"`
	// Execution says where trials are evaluated: in this process when not given.
	Execution *Execution `yaml:"execution,omitempty"`

	// Latency is this machine's latency table, which latency limits and objectives
	// are estimated from. It is not part of the experiment but of where it runs, so
	// the caller loads it (from the database) before Build.
	Latency *latency.Table `yaml:"-"`
}

// Execution says where an experiment's trials are evaluated.
type Execution struct {
	// NATS puts each trial as a job on a NATS JetStream work queue, which `cellar
	// worker` processes on any machine take (docs/workers.md).
	NATS *NATSExecution `yaml:"nats,omitempty"`
}

// NATSExecution is a NATS work queue. A field left out takes its default; one given
// is kept, or refused when it cannot work (ack_wait: 0).
type NATSExecution struct {
	URL        string        `yaml:"url"`         // nats://HOST:PORT, or embedded[:HOST:PORT]
	Stream     string        `yaml:"stream"`      // the queue's name (cellar)
	AckWait    time.Duration `yaml:"ack_wait"`    // a worker silent this long loses its job to another (30s)
	MaxDeliver int           `yaml:"max_deliver"` // deliveries before a trial fails (3)
}

// DefaultNATS are the defaults of a NATS work queue.
var DefaultNATS = NATSExecution{Stream: "cellar", AckWait: 30 * time.Second, MaxDeliver: 3}

func (n *NATSExecution) check() error {
	switch {
	case n.Stream == "" || strings.ContainsAny(n.Stream, " .*>"):
		return fmt.Errorf("execution.nats: stream %q; a name without spaces, dots, * or >", n.Stream)
	case n.AckWait < time.Second:
		return fmt.Errorf("execution.nats: ack_wait %v; at least 1s (how long a worker may go silent before its job goes to another)", n.AckWait)
	case n.MaxDeliver < 1:
		return fmt.Errorf("execution.nats: max_deliver %d; at least 1", n.MaxDeliver)
	}
	return nil
}

// Component names a space, strategy or evaluator; its other keys are the component's
// own options, checked against what that component takes.
type Component struct {
	Name string
	node *yaml.Node // the whole mapping, name included; nil when absent
	// key is where the component sits in the experiment ("strategy"), for errors;
	// its name when unset.
	key string
	// legacy marks a component of an experiment made before CurrentDefaults: it
	// takes the defaults it ran with (see Legacy).
	legacy bool
}

// Legacy says whether the component takes its defaults of before the current
// generation (Config.Defaults 0), so that an old experiment replays as it ran.
func (c Component) Legacy() bool { return c.legacy }

// WithDefaults is the component with the defaults of generation gen (see
// Config.Defaults), for callers that build components without a config (benchmarks).
func (c Component) WithDefaults(gen int) Component {
	c.legacy = gen == 0
	return c
}

// Has reports whether the component's options give key (with a value other than
// null).
func (c Component) Has(key string) bool {
	if c.node == nil || c.node.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(c.node.Content); i += 2 {
		if c.node.Content[i].Value == key {
			return c.node.Content[i+1].ShortTag() != "!!null"
		}
	}
	return false
}

// Label names the component with its options, for reports: "regevo" or
// "regevo{population: 50, warm_start: {proxy: synflow}}".
func (c Component) Label() string {
	if c.node == nil || len(c.node.Content) <= 2 {
		return c.Name
	}
	opts := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
	for i := 0; i+1 < len(c.node.Content); i += 2 {
		if c.node.Content[i].Value != "name" {
			opts.Content = append(opts.Content, c.node.Content[i], c.node.Content[i+1])
		}
	}
	out, err := yaml.Marshal(opts)
	if err != nil {
		return c.Name
	}
	return c.Name + strings.TrimSpace(string(out))
}

// NewComponent is a component with default options.
func NewComponent(name string) Component { return Component{Name: name} }

// UnmarshalYAML keeps the node so the component's options can be decoded once the
// name says which options type applies.
func (c *Component) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		c.Name, c.node = n.Value, nil // the short form: `strategy: random`
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a name or a mapping with a name key", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			c.Name = n.Content[i+1].Value
		}
	}
	if c.Name == "" {
		return fmt.Errorf("line %d: missing name", n.Line)
	}
	c.node = n
	return nil
}

// MarshalYAML writes the component back as it was given.
func (c Component) MarshalYAML() (any, error) {
	if c.node == nil {
		return c.Name, nil
	}
	return c.node, nil
}

// Decode fills dst (a pointer to an options struct holding the defaults) from the
// component's keys. A key that is not one of dst's yaml fields is an error naming it,
// its line and the keys that are known.
func (c Component) Decode(dst any) error {
	if c.node == nil {
		return nil
	}
	path := c.key
	if path == "" {
		path = c.Name
	}
	if err := (checker{skip: "name", label: strings.TrimSpace(c.key + " " + c.Name)}).check(c.node, reflect.TypeOf(dst), path); err != nil {
		return err
	}
	if err := c.node.Decode(dst); err != nil {
		return fmt.Errorf("%s options: %w", c.Name, err)
	}
	return nil
}

// Objective is one metric to optimise. The first objective is the one single-objective
// strategies optimise.
type Objective struct {
	Name      string `yaml:"name" json:"name"`
	Direction string `yaml:"direction" json:"direction"` // max or min
}

// Maximise says whether larger values are better.
func (o Objective) Maximise() bool { return o.Direction != "min" }

// Budget bounds a search: it stops at whichever of its limits comes first. Trials
// counts every trial asked for, hand-made ones included.
type Budget struct {
	Trials int           `yaml:"trials"`
	Time   time.Duration `yaml:"time"` // wall time, e.g. 10m; 0 for none
	// Final counts the trials evaluated at full fidelity (not stopped early; failed
	// ones included): with a cascade, the evaluations of its last, costly rung.
	// Trials already running when it is reached still finish.
	Final int `yaml:"final"`
}

// ParseConfig reads and checks an experiment. Errors name the line and the key.
func ParseConfig(src []byte) (*Config, error) {
	// Every key and number is checked on the node tree first, so that errors name
	// keys (with their path and the nearest known key), never Go types.
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return nil, errors.New("the experiment is empty")
	}
	var c Config
	if err := strict(&doc, reflect.TypeOf(c), ""); err != nil {
		return nil, err
	}
	// Defaults go in before decoding, so an explicit value, zero included, is kept
	// (and refused by check when it cannot work), never replaced.
	if given(&doc, "constraints") {
		c.Constraints = &Constraints{Penalty: 1}
	}
	if given(&doc, "execution", "nats") {
		nats := DefaultNATS
		c.Execution = &Execution{NATS: &nats}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the experiment is empty")
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the experiment holds more than one YAML document")
	}
	c.Space.key, c.Strategy.key, c.Evaluator.key = "space", "strategy", "evaluator"
	legacy := c.Defaults == 0
	c.Space.legacy, c.Strategy.legacy, c.Evaluator.legacy = legacy, legacy, legacy
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// given says whether the document gives the mapping at path (keys, outermost first).
func given(n *yaml.Node, path ...string) bool {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	for _, k := range path {
		if n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil || next.Kind != yaml.MappingNode {
			return false
		}
		n = next
	}
	return true
}

func (c *Config) check() error {
	if c.Space.Name == "" {
		return errors.New("space: missing (e.g. space: {name: nb201})")
	}
	if c.Strategy.Name == "" {
		return errors.New("strategy: missing (e.g. strategy: {name: regevo})")
	}
	if c.Evaluator.Name == "" {
		return errors.New("evaluator: missing (e.g. evaluator: {name: table, path: nb201.csv})")
	}
	if c.Parallelism == 0 {
		c.Parallelism = 1
	}
	if err := c.checkDefaults(); err != nil {
		return err
	}
	if c.Parallelism < 0 || c.Parallelism > 1024 {
		return fmt.Errorf("parallelism: %d; must be from 1 to 1024", c.Parallelism)
	}
	if c.Budget.Trials < 0 || c.Budget.Time < 0 || c.Budget.Final < 0 {
		return fmt.Errorf("budget: trials %d, time %v and final %d must not be negative", c.Budget.Trials, c.Budget.Time, c.Budget.Final)
	}
	if c.Budget.Trials == 0 && c.Budget.Time == 0 && c.Budget.Final == 0 {
		return errors.New("budget: give trials, time, final or several (e.g. budget: {trials: 100})")
	}
	if c.Constraints != nil {
		if err := c.Constraints.check(); err != nil {
			return err
		}
	}
	if c.Execution != nil && c.Execution.NATS != nil {
		if err := c.Execution.NATS.check(); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, o := range c.Objectives {
		if o.Name == "" {
			return fmt.Errorf("objectives[%d]: missing name", i)
		}
		if o.Direction == "" {
			c.Objectives[i].Direction = "max"
		} else if o.Direction != "max" && o.Direction != "min" {
			return fmt.Errorf("objectives[%d] %s: direction %q; use max or min", i, o.Name, o.Direction)
		}
		if seen[o.Name] {
			return fmt.Errorf("objectives[%d]: %s is listed twice", i, o.Name)
		}
		seen[o.Name] = true
	}
	return nil
}

// checkDefaults checks the generation of defaults and fills in what it gives: dedupe
// and fail_fast, where the experiment does not say.
func (c *Config) checkDefaults() error {
	if c.Defaults < 0 || c.Defaults > CurrentDefaults {
		return fmt.Errorf("defaults: %d; this cellar knows generations 0 to %d (a newer cellar made this experiment)", c.Defaults, CurrentDefaults)
	}
	if err := CheckDedupe(c.Dedupe); err != nil {
		return err
	}
	if c.Dedupe == "" {
		c.Dedupe = DedupeNone
		if c.Defaults >= 1 {
			c.Dedupe = DefaultDedupe
		}
	}
	if c.FailFast == nil && c.Defaults >= 1 {
		n := DefaultFailFast
		c.FailFast = &n
	}
	if c.FailFast != nil && *c.FailFast < 0 {
		return fmt.Errorf("fail_fast: %d; the failed trials, with none done, after which the search stops (0: never)", *c.FailFast)
	}
	return nil
}

// NeedsLatency says whether the experiment estimates latency: as an objective or a
// limit. The caller then loads the machine's table into Latency before Build.
func (c *Config) NeedsLatency() bool {
	if c.Constraints != nil && c.Constraints.Latency > 0 {
		return true
	}
	for _, o := range c.Objectives {
		if o.Name == "latency" {
			return true
		}
	}
	return false
}

// Marshal writes the config as YAML; ParseConfig reads it back to an equal config.
func (c *Config) Marshal() ([]byte, error) { return yaml.Marshal(c) }

// pathKeys are the options that name files or folders, at any level of a config.
var pathKeys = map[string]bool{"path": true, "workdir": true}

// ResolvePaths makes the relative paths of an experiment's source absolute, from dir
// (the experiment file's folder), so that the experiment means the same wherever it
// is run or resumed from: the values of path and workdir keys at any level, and a
// command's program (run's first item) when it names a file by a relative path with a
// slash. Values equal to one of names (built-in tables, such as nb201) are names,
// not paths, and stay as they are. A source with no relative path comes back
// unchanged, byte for byte.
func ResolvePaths(src []byte, dir string, names ...string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	changed := false
	resolve := func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.Value != "" && !filepath.IsAbs(n.Value) && n.ShortTag() == "!!str" && !slices.Contains(names, n.Value) {
			n.Value = filepath.Join(dir, n.Value)
			changed = true
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				switch {
				case pathKeys[k]:
					resolve(v)
				case k == "run" && v.Kind == yaml.SequenceNode && len(v.Content) > 0 && strings.ContainsRune(v.Content[0].Value, '/'):
					resolve(v.Content[0])
				}
				walk(v)
			}
		}
	}
	walk(&doc)
	if !changed {
		return src, nil
	}
	return yaml.Marshal(&doc)
}

// CurrentDefaults is the generation of defaults a new experiment is made with
// (PinDefaults). 1: dedupe by function, fail_fast 5, the predictor's zero-cost warm
// start, features and local acquisition, the one-shot rung's rank by loss, angle and
// live params.
const CurrentDefaults = 1

// PinDefaults writes into a new experiment's source the generation of defaults it is
// made with (defaults: CurrentDefaults), so that it keeps them when later cellars
// change theirs: an experiment stored without it takes those of before (see
// Config.Defaults). The source is kept as written, the key added at its end; a
// source that is not a YAML mapping, or says already, comes back as it is.
func PinDefaults(src []byte) []byte {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return src
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return src
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "defaults" {
			return src
		}
	}
	gen := strconv.Itoa(CurrentDefaults)
	if top.Style&yaml.FlowStyle == 0 {
		out := bytes.TrimRight(src, "\n")
		return append(append(slices.Clone(out), "\ndefaults: "...), gen+"\n"...)
	}
	top.Content = append(top.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "defaults"}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: gen})
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return src
	}
	return out
}
