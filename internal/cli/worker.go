package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/remote"
)

func newWorkerCmd(evals map[string]engine.EvaluatorFactory) *cobra.Command {
	var (
		n      natsFlags
		stream string
		w      = remote.Worker{Evaluators: evals}
	)
	cmd := &cobra.Command{
		Use:   "worker --nats URL [--nats-token-file F | --nats-creds F] [--parallelism N] [--name NAME]",
		Short: "Evaluate trials of searches that put them on a NATS work queue",
		Long: `Pull trials from a NATS JetStream work queue that searches (search, tui or serve with
--nats) fill, evaluate each with its experiment's own evaluator (table, train, zerocost,
command, ...), stream its progress back and publish its outcome. A job is acked once the
search has stored the outcome; a worker that dies loses nothing: its jobs go to another
after the queue's ack wait. Stop it with Ctrl-C: the jobs it runs go back to the queue.
A command evaluator's program runs only where --allow-command allows it: a job says what
to run, and anyone with the queue's token can write one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n.url == "" || strings.HasPrefix(n.url, "embedded") {
				return errors.New("give the NATS server with --nats nats://HOST:PORT (a search started with --nats embedded prints it)")
			}
			if w.Name == "" {
				host, _ := os.Hostname()
				w.Name = fmt.Sprintf("%s-%d", host, os.Getpid())
			}
			token, err := n.token()
			if err != nil {
				return err
			}
			w.Log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			// A worker may start before its server: it waits for it, saying so.
			nc, err := remote.ConnectWaiting(n.url, token, n.creds, "cellar worker "+w.Name, func(err error) {
				w.Log.Warn("cannot reach the NATS server; trying again", "url", n.url, "err", err)
			})
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, got, stop := onSignal(cmd.Context())
			defer stop()
			err = w.Run(ctx, nc, stream)
			if sig := got(); sig != nil {
				return stoppedBy(sig)
			}
			return err
		},
	}
	n.register(cmd, "the NATS server searches put their trials on (nats://HOST:PORT)")
	cmd.Flags().StringVar(&stream, "stream", remote.DefaultOptions.Stream, "the work queue's name (the experiment's execution.nats.stream)")
	cmd.Flags().IntVar(&w.Parallelism, "parallelism", 1, "trials evaluated at once")
	cmd.Flags().StringSliceVar(&w.Devices, "devices", nil, "GPU ids, one to each slot (CUDA_VISIBLE_DEVICES of a command evaluator's trainer)")
	cmd.Flags().StringVar(&w.Name, "name", "", "the worker's name on the dashboard (default HOST-PID)")
	cmd.Flags().StringArrayVar(&w.AllowCommand, "allow-command", nil, "a command evaluator may run what matches this `pattern`: the program's full path and its arguments, * for any text (e.g. '/usr/bin/python3 /srv/nas/train.py *'); repeat for more. Without it, no command runs")
	return cmd
}
