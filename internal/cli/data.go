package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"cellar/datasets"
)

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "The datasets cellar trains on, for programs of your own",
	}
	var path string
	export := &cobra.Command{
		Use:   "export mnist|fashion-mnist DIR [--path SRC]",
		Short: "Write a dataset's IDX files into DIR (for the command evaluator's trainers)",
		Long: `Write the four IDX files of a dataset (train and t10k images and labels) into DIR, as
cellar reads them: MNIST from the Go module cellar is built with, Fashion-MNIST from
Debian's dataset-fashion-mnist (or --path). examples/pytorch/train.py reads them.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := datasets.ExportIDX(args[0], path, args[1])
			if err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
			return nil
		},
	}
	export.Flags().StringVar(&path, "path", "", "the dataset's folder, where it is not the default")
	cmd.AddCommand(export)
	return cmd
}
