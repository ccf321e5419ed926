package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/nn"
)

func newTrainCmd(evals map[string]engine.EvaluatorFactory) *cobra.Command {
	var config, arch string
	cmd := &cobra.Command{
		Use:   "train [-c exp.yaml] --arch ARCH",
		Short: "Train one architecture with an experiment's space and train evaluator, and report it",
		Long: `Train one architecture exactly as the experiment's train evaluator would in a search
(same data, split, settings and seed), printing progress, the final metrics and the
training throughput. Without -c the built-in default experiment is used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, origin := defaultExperiment, "the built-in default experiment"
			if config != "" {
				var err error
				if src, err = readFile(config); err != nil {
					return err
				}
				origin = config
			}
			cfg, err := engine.ParseConfig(src)
			if err != nil {
				return fmt.Errorf("%s: %w", origin, err)
			}
			exp, err := engine.Build(cfg, src, evals)
			if err != nil {
				return fmt.Errorf("%s: %w", origin, err)
			}
			trainer, ok := exp.Evaluator.(*evaluators.Train)
			if !ok {
				return fmt.Errorf("%s: the evaluator is %q; train needs the train evaluator", origin, cfg.Evaluator.Name)
			}
			if arch == "" {
				return fmt.Errorf("give the architecture with --arch (a %s arch string)", exp.Space.Name())
			}
			a, err := exp.Space.Parse([]byte(arch))
			if err != nil {
				return err
			}
			net, err := exp.Space.Network(a)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s\n%s\n", a, net.Summary())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out, err := exp.Evaluator.Evaluate(ctx, engine.Job{Arch: a}, func(p engine.Progress) {
				if v, ok := p.Metrics["val_accuracy"]; ok {
					fmt.Fprintf(w, "epoch %.0f: train loss %.4f accuracy %.2f%%, val %.2f%%\n", p.Epoch, p.Metrics["loss"], p.Metrics["accuracy"], v)
				}
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", formatMetrics(out.Metrics))
			if n := len(out.Curve); n > 0 && out.Metrics["train_seconds"] > 0 {
				fmt.Fprintf(w, "%.1f training samples/s (%s)\n", float64(trainer.Samples())/out.Curve[n-1].Duration, nn.Backend())
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&config, "config", "c", "", "experiment file whose space and train evaluator to use")
	cmd.Flags().StringVar(&arch, "arch", "", "the architecture, in the space's string form")
	return cmd
}
