package cli

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cellar/remote"
)

func newWorkersCmd() *cobra.Command {
	var (
		n      natsFlags
		stream string
		wait   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "workers --nats URL [--nats-token-file F | --nats-creds F] [--stream cellar]",
		Short: "List the workers of a NATS work queue: name, host, slots, the trials they run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n.url == "" || strings.HasPrefix(n.url, "embedded") {
				return errors.New("give the NATS server with --nats nats://HOST:PORT")
			}
			token, err := n.token()
			if err != nil {
				return err
			}
			nc, err := remote.Connect(n.url, token, n.creds, "cellar workers")
			if err != nil {
				return err
			}
			defer nc.Close()
			hbs, err := remote.Workers(nc, stream, wait)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if len(hbs) == 0 {
				fmt.Fprintf(w, "no worker said a word in %v on stream %s\n", wait, stream)
				return nil
			}
			fmt.Fprintf(w, "%-24s %-20s %5s %8s  %s\n", "worker", "host", "slots", "last", "running")
			for _, name := range slices.Sorted(maps.Keys(hbs)) {
				hb := hbs[name]
				running := strings.Join(hb.Running, " ")
				if running == "" {
					running = "-"
				}
				fmt.Fprintf(w, "%-24s %-20s %5d %7.1fs  %s\n", hb.Name, hb.Host, hb.Slots, time.Since(hb.Time).Seconds(), running)
			}
			return nil
		},
	}
	n.register(cmd, "the NATS server the workers pull from (nats://HOST:PORT)")
	cmd.Flags().StringVar(&stream, "stream", remote.DefaultOptions.Stream, "the work queue's name")
	cmd.Flags().DurationVar(&wait, "wait", 3*time.Second, "how long to listen for heartbeats (workers send one every 2s)")
	return cmd
}
