package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/remote"
	"cellar/tui"
)

// natsFlags say where a search's trials go: --nats URL, or embedded[:ADDR] for a
// server inside this process; the experiment's execution.nats when not given. The
// token comes from a file or the environment, never the command line, where every
// user of the machine reads it (ps).
type natsFlags struct {
	url, tokenFile, creds string
	onCommandLine         string // --nats-token, refused
}

func (n *natsFlags) register(cmd *cobra.Command, url string) {
	cmd.Flags().StringVar(&n.url, "nats", "", url)
	cmd.Flags().StringVar(&n.tokenFile, "nats-token-file", "", "a `file` holding the NATS server's token, readable by you alone (or $CELLAR_NATS_TOKEN)")
	cmd.Flags().StringVar(&n.onCommandLine, "nats-token", "", "refused: a token on the command line is read by every user (ps)")
	cmd.Flags().MarkHidden("nats-token")
	cmd.Flags().StringVar(&n.creds, "nats-creds", "", "a NATS user credentials `file`")
}

// flags are the NATS flags given, as a resume command repeats them ("" for none).
func (n *natsFlags) flags() string {
	var b strings.Builder
	for _, f := range []struct{ name, v string }{{"--nats", n.url}, {"--nats-token-file", n.tokenFile}, {"--nats-creds", n.creds}} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s %s", f.name, shellQuote(f.v))
		}
	}
	return b.String()
}

// token is the NATS token: from --nats-token-file, else $CELLAR_NATS_TOKEN.
func (n *natsFlags) token() (string, error) {
	if n.onCommandLine != "" {
		return "", errors.New("--nats-token: a token on the command line is read by every user of this machine (ps); put it in a file only you can read and give --nats-token-file F, or set $CELLAR_NATS_TOKEN")
	}
	if n.tokenFile != "" {
		return remote.ReadToken(n.tokenFile)
	}
	return os.Getenv("CELLAR_NATS_TOKEN"), nil
}

// remoteExecution puts the session's trials on a NATS work queue when the flags or
// the experiment say so: an embedded server if asked for (its files and token beside
// the DB), the connection, the remote evaluator in place of the local one, and a
// store that tells workers what is stored. It prints how workers connect.
func (s *session) remoteExecution(f searchFlags, opt *engine.Options, stderr io.Writer) error {
	cfg := s.exp.Config
	url := f.nats.url
	var ropt remote.Options
	if n := cfg.Execution; n != nil && n.NATS != nil {
		ropt = remote.Options{Stream: n.NATS.Stream, AckWait: n.NATS.AckWait, MaxDeliver: n.NATS.MaxDeliver}
		if url == "" {
			url = n.NATS.URL
		}
	}
	if url == "" {
		return nil
	}
	if files := evaluators.RelativeFiles(cfg.Evaluator); len(files) > 0 {
		here, _ := os.Getwd()
		fmt.Fprintf(stderr, "warning: the command names %s relative to this folder (%s); a worker runs it in its own folder, where it may not be: give absolute paths, or workdir: %s in the evaluator with the same files on every worker\n",
			strings.Join(files, ", "), here, here)
	}
	token, err := f.nats.token()
	if err != nil {
		return err
	}
	if addr, ok := strings.CutPrefix(url, "embedded"); ok {
		dir := strings.TrimSuffix(f.db, filepath.Ext(f.db)) + ".nats"
		e, err := remote.StartEmbedded(strings.TrimPrefix(addr, ":"), dir)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, e.Shutdown)
		url, token = e.URL, e.Token
		fmt.Fprintf(stderr, "NATS server with JetStream at %s (files in %s); workers connect with:\n  cellar worker --nats %s --nats-token-file %s\n"+
			"(on another machine: copy that file, mode 600, or set CELLAR_NATS_TOKEN to its contents)\n", e.Advertise, dir, e.Advertise, shellQuote(e.TokenFile))
	}
	nc, err := remote.Connect(url, token, f.nats.creds, "cellar search")
	if err != nil {
		return err
	}
	s.closers = append(s.closers, nc.Close)
	// What the queue's side of the search could not do, or would not take (an
	// outcome naming no job it sent), goes to a log beside the DB: not stderr, which
	// the TUI draws on.
	logPath := strings.TrimSuffix(f.db, filepath.Ext(f.db)) + ".nats.log"
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("the queue's log: %w", err)
	}
	s.closers = append(s.closers, func() { logFile.Close() })
	ropt.Log = slog.New(slog.NewTextHandler(logFile, nil))
	fmt.Fprintf(stderr, "what the queue drops or cannot do is logged in %s\n", logPath)
	stored := map[uint64]bool{}
	for id := range opt.Stored {
		stored[id] = true
	}
	// The experiment's own identity names its trials on the queue: no other search,
	// at another path or host or made after this one's file was deleted, shares it.
	identity, err := s.x.Identity()
	if err != nil {
		return err
	}
	ev, err := remote.NewEvaluator(context.Background(), nc, ropt, identity, s.exp.Source, s.exp.Evaluator, stored)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, ev.Close)
	s.exp.Evaluator = ev
	stream := firstOf(ropt.Stream, remote.DefaultOptions.Stream)
	watch, err := remote.Watch(nc, stream)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, watch.Close)
	key := identity + "."
	s.workers = func() []tui.Worker {
		var out []tui.Worker
		for _, hb := range watch.Workers() {
			wk := tui.Worker{Name: hb.Name, Host: hb.Host, Slots: hb.Slots, Seen: hb.Time}
			for _, r := range hb.Running {
				if id, ok := strings.CutPrefix(r, key); ok { // this search's trials only
					wk.Running = append(wk.Running, "#"+id)
				}
			}
			out = append(out, wk)
		}
		return out
	}
	opt.Store = remote.Store{Store: opt.Store, Evaluator: ev}
	return nil
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
