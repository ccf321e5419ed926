package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/export"
	"cellar/nn"
	"cellar/spaces"
	"cellar/weights"
)

// exportFlags are export's flags: a stored trial (--db, --trial) or an arch of a space
// (--space or -c, --arch).
type exportFlags struct {
	db, exp, space, config, arch, format, out string
	trial                                     uint64
	seed                                      uint64
}

func newExportCmd() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export (--db F --trial ID | --space S --arch A) --format pytorch|json|onnx [-o FILE]",
		Short: "Write a trial's or an arch's network as PyTorch code, JSON or ONNX",
		Long: `Write the network of a stored trial (--db F --trial ID [--exp E]) or of an arch of a
space (--space S, or -c exp.yaml for a space with its options, and --arch A) as:

  pytorch  one self-contained .py file: an nn.Module, CellarNet, with the network's layers
           in the IR's order, and load_cellar_weights(model, path) for saved weights
  json     the arch, its space and the IR (layers, shapes, parameters, FLOPs);
           schema in docs/export.md
  onnx     an ONNX model (opset 13) with the weights as initializers: the trial's trained
           weights where they were kept, else those a training starts from (--seed)

It reads the network IR, so every space exports. Without -o it writes to standard
output (onnx only when that is not a terminal).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return f.run(cmd.OutOrStdout()) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.db, "db", "", "the database of the trial")
	fl.StringVar(&f.exp, "exp", "", "the trial's experiment `ID` (default: the latest)")
	fl.Uint64Var(&f.trial, "trial", 0, "the trial's `ID`")
	fl.StringVar(&f.space, "space", "", "the space of --arch, at its default options: nb201, cell or network")
	fl.StringVarP(&f.config, "config", "c", "", "an experiment `file` whose space (with its options) --arch is of")
	fl.StringVar(&f.arch, "arch", "", "the architecture, in the space's string form")
	fl.StringVar(&f.format, "format", "pytorch", "pytorch, json or onnx")
	fl.StringVarP(&f.out, "output", "o", "", "write to this `file` (default: standard output)")
	fl.Uint64Var(&f.seed, "seed", 1, "the seed of the initial weights an onnx export holds when the trial kept none")
	return cmd
}

func (f *exportFlags) run(stdout io.Writer) error {
	if f.format != "pytorch" && f.format != "json" && f.format != "onnx" {
		return fmt.Errorf("--format %q: pytorch, json or onnx", f.format)
	}
	net, meta, trained, err := f.network()
	if err != nil {
		return err
	}
	var out []byte
	switch f.format {
	case "pytorch":
		out, err = export.PyTorch(net, meta)
	case "json":
		out, err = export.JSON(net, meta)
	case "onnx":
		var w weights.Set
		if trained != "" {
			w, err = weights.ReadFile(trained)
		} else {
			w, err = nn.InitialWeights(net, f.seed)
		}
		if err == nil {
			out, err = export.ONNX(net, meta, w)
		}
	}
	if err != nil {
		return err
	}
	if trained != "" && f.format == "pytorch" && f.out != "" {
		// The trained weights go beside the module, for load_cellar_weights.
		b, err := os.ReadFile(trained)
		if err != nil {
			return err
		}
		wpath := strings.TrimSuffix(f.out, filepath.Ext(f.out)) + ".safetensors"
		if err := os.WriteFile(wpath, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s and the trial's trained weights, %s\n", f.out, wpath)
	}
	if f.out == "" {
		if file, ok := stdout.(*os.File); ok && f.format == "onnx" && term.IsTerminal(int(file.Fd())) {
			return errors.New("an onnx model is binary; give -o FILE")
		}
		_, err = stdout.Write(out)
		return err
	}
	return os.WriteFile(f.out, out, 0o644)
}

// network is the IR to export, what it is, and the path of its trained weights when
// a stored trial kept them.
func (f *exportFlags) network() (net *spaces.Net, meta export.Meta, trained string, err error) {
	var src []byte
	switch {
	case f.db != "" && f.trial == 0, f.db == "" && f.trial != 0:
		return nil, meta, "", errors.New("a stored trial needs both --db F and --trial ID")
	case f.db != "" && (f.arch != "" || f.space != "" || f.config != ""):
		return nil, meta, "", errors.New("give a stored trial (--db, --trial) or an arch (--space or -c, and --arch), not both")
	case f.db != "":
		d, x, err := openExperiment(f.db, f.exp)
		if err != nil {
			return nil, meta, "", err
		}
		defer d.Close()
		t, err := x.Trial(f.trial)
		if err != nil {
			return nil, meta, "", err
		}
		if t.State == engine.Failed {
			return nil, meta, "", fmt.Errorf("trial %d of experiment %d failed (%s); export a trial that built", t.ID, x.ID, t.Error)
		}
		if src, err = x.Source(); err != nil {
			return nil, meta, "", err
		}
		meta.Experiment, meta.Trial, meta.Arch = x.ID, t.ID, t.Arch
		if p := evaluators.WeightsPath(x.FilesDir(), t.ID); fileExists(p) {
			trained = p
		}
	case f.arch == "":
		return nil, meta, "", errors.New("give a stored trial (--db F --trial ID) or an arch (--space S or -c exp.yaml, and --arch A)")
	case f.config != "" && f.space != "":
		return nil, meta, "", errors.New("give the space with --space or -c, not both")
	case f.config != "":
		var err error
		if src, err = readFile(f.config); err != nil {
			return nil, meta, "", err
		}
		meta.Arch = f.arch
	case f.space != "":
		src = fmt.Appendf(nil, "space: %s\nstrategy: random\nevaluator: params\nbudget: {trials: 1}\n", f.space)
		meta.Arch = f.arch
	default:
		return nil, meta, "", errors.New("--arch needs its space: --space S or -c exp.yaml")
	}
	cfg, err := engine.ParseConfig(src)
	if err != nil {
		return nil, meta, "", err
	}
	sp, err := engine.ExperimentSpace(cfg)
	if err != nil {
		return nil, meta, "", err
	}
	meta.Space = sp.Name()
	if raw, err := yaml.Marshal(cfg.Space); err == nil {
		var opts map[string]any
		if yaml.Unmarshal(raw, &opts) == nil {
			delete(opts, "name")
			if len(opts) > 0 {
				meta.SpaceOptions = opts
			}
		}
	}
	a, err := sp.Parse([]byte(meta.Arch))
	if err != nil {
		return nil, meta, "", fmt.Errorf("arch: %w", err)
	}
	if err := sp.Validate(a); err != nil {
		return nil, meta, "", fmt.Errorf("arch %s: %w", meta.Arch, err)
	}
	meta.Arch = a.String() // the canonical form
	net, err = sp.Network(a)
	if err != nil {
		return nil, meta, "", fmt.Errorf("arch %s does not build a network: %w", meta.Arch, err)
	}
	return net, meta, trained, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
