package cli

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/latency"
	"cellar/nn"
	"cellar/spaces"
	"cellar/storage"
)

func newLatencyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "Latency lookup tables measured on this machine",
	}
	cmd.AddCommand(newLatencyBuildCmd(), newLatencyCheckCmd())
	return cmd
}

// latencyFlags are the settings build and check share.
type latencyFlags struct {
	db, spaces  string
	batch, reps int
	seed        uint64
	n           int
}

func (f *latencyFlags) add(cmd *cobra.Command, n int, seed uint64) {
	cmd.Flags().StringVar(&f.db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&f.spaces, "spaces", "nb201,cell,network", "spaces (names or a YAML list with options)")
	cmd.Flags().IntVar(&f.batch, "batch", 1, "samples per forward pass")
	cmd.Flags().IntVar(&f.reps, "reps", 5, "timed passes per measurement (the median is kept)")
	cmd.Flags().IntVar(&f.n, "n", n, "random archs per space")
	cmd.Flags().Uint64Var(&f.seed, "seed", seed, "seed of the random archs")
}

func (f *latencyFlags) timer() latency.Timer {
	return nn.ForwardTimer{Batch: f.batch, Warmup: 1, Reps: f.reps}.Time
}

// nets draws n distinct random archs of each space and builds their networks.
func (f *latencyFlags) nets() ([]string, [][]*spaces.Net, error) {
	comps, err := parseComponents("--spaces", f.spaces)
	if err != nil {
		return nil, nil, err
	}
	if f.n < 1 {
		return nil, nil, fmt.Errorf("--n %d must be positive", f.n)
	}
	names := make([]string, len(comps))
	out := make([][]*spaces.Net, len(comps))
	for i, c := range comps {
		sp, err := engine.BuildSpace(c)
		if err != nil {
			return nil, nil, fmt.Errorf("--spaces: %w", err)
		}
		names[i] = c.Label()
		rng := rand.New(rand.NewPCG(f.seed, uint64(i)))
		seen := map[string]bool{}
		for tries := 0; len(out[i]) < f.n && tries < 100*f.n; tries++ {
			a := sp.Sample(rng)
			if seen[a.String()] {
				continue
			}
			seen[a.String()] = true
			net, err := sp.Network(a)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: arch %s: %w", names[i], a, err)
			}
			out[i] = append(out[i], net)
		}
	}
	return names, out, nil
}

func newLatencyBuildCmd() *cobra.Command {
	var f latencyFlags
	cmd := &cobra.Command{
		Use:   "build --db F [--spaces nb201,cell,network] [--n 200]",
		Short: "Time every distinct layer of n random archs of each space and store the table",
		Long: `build times each distinct layer (kind, input shape, attributes) of n random archs
of each space with nn forward passes, and stores the table in the database under this
machine's key (CPU model, threads, BLAS). Layers the machine's table already holds are
not timed again, so builds over other spaces add to one table.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names, nets, err := f.nets()
			if err != nil {
				return err
			}
			db, err := storage.Open(f.db, 2*time.Second)
			if err != nil {
				return err
			}
			defer db.Close()
			m := latency.ThisMachine(nn.Backend())
			old, err := db.Latency(m)
			if err != nil {
				return err
			}
			if old != nil && old.Batch != f.batch {
				old = nil // timings at another batch size do not mix
			}
			var all []*spaces.Net
			for _, ns := range nets {
				all = append(all, ns...)
			}
			errw := cmd.ErrOrStderr()
			t, err := latency.Build(cmd.Context(), old, all, f.timer(), func(done, total int) {
				if done%50 == 0 || done == total {
					fmt.Fprintf(errw, "timed %d/%d layers\n", done, total)
				}
			})
			if err != nil {
				return err
			}
			t.Machine, t.Batch, t.Reps = m, f.batch, f.reps
			if err := db.PutLatency(t); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d layers (%v), overhead %.3f ms, batch %d\n", m.Key(), len(t.Ops), names, t.Overhead, t.Batch)
			return nil
		},
	}
	f.add(cmd, 200, 1)
	return cmd
}

func newLatencyCheckCmd() *cobra.Command {
	var f latencyFlags
	cmd := &cobra.Command{
		Use:   "check --db F [--spaces nb201,cell,network] [--n 100] [--seed 2]",
		Short: "Compare the table's estimates with measured end-to-end latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := storage.OpenReadOnly(f.db, 2*time.Second)
			if err != nil {
				return err
			}
			defer db.Close()
			m := latency.ThisMachine(nn.Backend())
			t, err := db.Latency(m)
			if err != nil {
				return err
			}
			if t == nil {
				others, err := db.LatencyMachines()
				if err != nil {
					return err
				}
				held := "none"
				if len(others) > 0 {
					keys := make([]string, len(others))
					for i, o := range others {
						keys[i] = o.Key()
					}
					held = strings.Join(keys, "; ")
				}
				return fmt.Errorf("%s holds no latency table for %s (it holds: %s); run cellar latency build --db %s", f.db, m.Key(), held, f.db)
			}
			f.batch = t.Batch
			names, nets, err := f.nets()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s, batch %d\n", m.Key(), t.Batch)
			for i, ns := range nets {
				c, err := latency.Compare(cmd.Context(), t, ns, f.timer(), nil)
				if err != nil {
					return fmt.Errorf("%s: %w", names[i], err)
				}
				mean := 0.0
				for _, v := range c.Measured {
					mean += v / float64(len(c.Measured))
				}
				fmt.Fprintf(out, "%s: %d archs  spearman %.3f  kendall %.3f  mean rel error %.3f  estimate/measured %.2f  table coverage %.2f  mean measured %.2f ms\n",
					names[i], c.N, c.Spearman, c.Kendall, c.MeanRel, c.Ratio, c.Coverage, mean)
			}
			return nil
		},
	}
	f.add(cmd, 100, 2)
	return cmd
}

// latencyTable is this machine's latency table when the experiment estimates latency
// (nil otherwise, and nil when the database holds none: Build then says how to make
// one).
func latencyTable(db *storage.DB, cfg *engine.Config) (*latency.Table, error) {
	if !cfg.NeedsLatency() {
		return nil, nil
	}
	return db.Latency(latency.ThisMachine(nn.Backend()))
}
