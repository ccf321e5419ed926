package cli

import (
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"cellar/storage"
)

func newSalvageCmd() *cobra.Command {
	var db, out string
	cmd := &cobra.Command{
		Use:   "salvage --db F -o NEW",
		Short: "Copy every readable experiment, trial, checkpoint and journal entry to a new file",
		Long: `Read a (damaged) database without bbolt and copy what is readable into a new file, keeping
every id. The source is never written. The report says what could not be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("give the new file with -o NEW.db")
			}
			r, err := storage.Salvage(db, out)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			printReport(w, r.Check)
			for _, id := range slices.Sorted(maps.Keys(r.Copied)) {
				fmt.Fprintf(w, "copied experiment %d: %d trials\n", id, r.Copied[id])
			}
			for _, n := range r.Notes {
				fmt.Fprintln(w, n)
			}
			fmt.Fprintf(w, "wrote %s; %s is unchanged\n", out, db)
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "the database to read")
	cmd.Flags().StringVarP(&out, "output", "o", "", "the new database file (must not exist)")
	return cmd
}
