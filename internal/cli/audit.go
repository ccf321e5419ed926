package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"cellar/engine"
)

func newAuditCmd() *cobra.Command {
	var (
		db, exp string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "audit --db F --exp ID [--json]",
		Short: "List the changes made to a search while it ran: steering (refused changes too) and hand-made trials",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sdb, x, err := openExperiment(db, exp)
			if err != nil {
				return err
			}
			defer sdb.Close()
			snapshotNote(cmd, sdb)
			journal, err := x.Journal()
			if err != nil {
				return err
			}
			var audit []engine.Entry
			for _, en := range journal {
				if en.Op == engine.OpSteer || en.Op == engine.OpRefused || en.Op == engine.OpInject {
					audit = append(audit, en)
				}
			}
			return printAudit(cmd.OutOrStdout(), audit, asJSON)
		},
	}
	cmd.Flags().StringVar(&db, "db", defaultDB, "database file")
	cmd.Flags().StringVar(&exp, "exp", "", "experiment `ID` (default: the newest)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON array of entries")
	return cmd
}

func printAudit(w io.Writer, audit []engine.Entry, asJSON bool) error {
	if asJSON {
		if audit == nil {
			audit = []engine.Entry{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(audit)
	}
	if len(audit) == 0 {
		fmt.Fprintln(w, "no steering changes (made or refused) and no hand-made trials")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "time\twho\tat trial\tchange")
	for _, en := range audit {
		who := en.Who
		if who == "" {
			who = "-"
		}
		change := fmt.Sprintf("%s %v -> %v", en.Param, en.Old, en.New)
		switch en.Op {
		case engine.OpInject:
			change = "hand-made " + en.Arch
		case engine.OpRefused:
			change = fmt.Sprintf("%s %v -> %v refused: %s", en.Param, en.Old, en.New, en.Arch)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", en.Time.Local().Format("2006-01-02 15:04:05"), who, en.Trial, change)
	}
	return tw.Flush()
}
