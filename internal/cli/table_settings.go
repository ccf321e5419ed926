package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"cellar/groundtruth"
)

// tableFlag ties a command's flag to a ground truth's setting: take sets the flag's
// variable to the table's value, same says whether it holds it already.
type tableFlag struct {
	name  string // the flag; "" for a setting no flag of the command sets
	same  bool
	table any
	take  func()
}

// bind ties flag name, whose value is in *v, to the table's value.
func bind[T comparable](name string, v *T, table T) tableFlag {
	return tableFlag{name: name, same: *v == table, table: table, take: func() { *v = table }}
}

// matchTable gives every setting not set on the command line the table's value, and
// lists the flags given that differ from the table, as "--train 10000 (the table's:
// 30000)".
func matchTable(cmd *cobra.Command, flags []tableFlag) []string {
	var differ []string
	for _, f := range flags {
		fl := cmd.Flags().Lookup(f.name)
		if f.name == "" || fl == nil || !fl.Changed {
			f.take()
			continue
		}
		if !f.same {
			differ = append(differ, fmt.Sprintf("--%s %s (the table's: %v)", f.name, fl.Value, f.table))
		}
	}
	return differ
}

// groundTruthBindings ties the flags of groundTruthFlags (epochs named with prefix), and
// --val and --lr where the command has them, to the settings s of a ground truth.
func groundTruthBindings(s *groundtruth.Settings, o *groundtruth.Options, prefix string) []tableFlag {
	return []tableFlag{
		bind("dataset", &o.Dataset, s.Dataset),
		bind("train", &o.Train, s.Train),
		bind("val", &o.Val, s.Val),
		bind("channels", &o.Channels, s.Channels),
		bind("depth", &o.Depth, s.Depth),
		bind(prefix+"epochs", &o.Epochs, s.Epochs),
		bind("lr", &o.LR, s.LR),
		bind("", &o.Batch, s.Batch),
		bind("", &o.Momentum, s.Momentum),
		bind("", &o.WeightDecay, s.WeightDecay),
	}
}

// differsFrom says which flags given differ from the ground truth at path, for an
// error or a warning.
func differsFrom(path string, differ []string) string {
	return fmt.Sprintf("%s was trained otherwise (%s): %s", path, groundtruth.SettingsPath(path), strings.Join(differ, ", "))
}
