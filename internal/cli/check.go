package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"cellar/storage"
)

func newCheckCmd() *cobra.Command {
	var db string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check --db F [--json]",
		Short: "Check a database page by page and record by record; never writes",
		Long: `Read the database without bbolt, page by page, and check what bbolt needs (pages, links,
key order, the freelist) and what cellar needs (schema, every record decodes, trials under their
ids, every trial the checkpoint counts is stored, the journal runs 1..N). Exits 1 and lists the
problems when there are any; cellar salvage copies what is readable to a new file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := storage.Check(db)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else {
				printReport(cmd.OutOrStdout(), r)
			}
			if !r.OK() {
				return fmt.Errorf("%s has problems; `cellar salvage --db %s -o NEW.db` copies every readable record to a new file", db, db)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "database file")
	cmd.Flags().BoolVar(&asJSON, "json", false, "the report as JSON")
	return cmd
}

func printReport(w io.Writer, r *storage.Report) {
	for _, p := range r.Pages {
		fmt.Fprintf(w, "file: %s\n", p)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "%s\n", p)
	}
	for _, x := range r.Experiments {
		resume := "resumable"
		switch {
		case !x.Resumable:
			resume = "no checkpoint to resume from"
		case x.Finished:
			resume = "finished (resume it with a larger budget: --trials N)"
		}
		fmt.Fprintf(w, "experiment %d (%s): %d trials readable, %d lost; %s\n", x.ID, x.Name, x.Readable, len(x.Lost), resume)
		for _, p := range x.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	if r.OK() {
		fmt.Fprintf(w, "%s: no problems\n", r.Path)
	}
}
