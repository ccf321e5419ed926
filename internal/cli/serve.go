package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"cellar/engine"
	"cellar/serve"
)

func newServeCmd(evals map[string]engine.EvaluatorFactory) *cobra.Command {
	f := searchFlags{evaluators: evals}
	var resume, theme, addr, keysPath, hostKey string
	cmd := &cobra.Command{
		Use:   "serve --authorized-keys FILE [--ssh 127.0.0.1:2222] [-c exp.yaml] [--db F] [--host-key F]",
		Short: "Run one search and serve its workbench over SSH to every authorized key",
		Long: `Run one search and serve the workbench to every SSH client with an authorized key.
Each key in the keys file carries a role: viewers watch and browse; operators also pause,
resume, edit and queue hand trials, and stop the search. The search runs on with no
session attached; SIGINT or SIGTERM stops it, storing what finished.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			th, err := f.parseUI(resume, theme)
			if err != nil {
				return err
			}
			if keysPath == "" {
				return errors.New("--authorized-keys FILE is required: lines such as `role=operator ssh-ed25519 AAAA... you@host`")
			}
			keys, err := serve.LoadKeys(keysPath)
			if err != nil {
				return err
			}
			ctx, got, stop := onSignal(cmd.Context())
			defer stop()
			err = runServe(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), f, serve.Options{Addr: addr, HostKey: hostKey, KeysPath: keysPath, Keys: keys, Theme: th})
			if sig := got(); sig != nil && err == nil {
				return stoppedBy(sig)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&addr, "ssh", "127.0.0.1:2222", "address to listen on for SSH (loopback unless you give another, e.g. :2222 for every interface)")
	cmd.Flags().StringVar(&keysPath, "authorized-keys", "", "authorized_keys file with a role=viewer or role=operator option on each key")
	cmd.Flags().StringVar(&hostKey, "host-key", "cellar_host_ed25519", "the server's private host key; generated there on first start, then kept")
	f.register(cmd, &resume)
	themeFlag(cmd, &theme)
	return cmd
}

// runServe runs the search and the SSH server until ctx ends (a signal), then closes
// the sessions and stops the search, which commits what finished and a checkpoint.
func runServe(ctx context.Context, out, logTo io.Writer, f searchFlags, opts serve.Options) error {
	// On a terminal, the log scrolls above a one-line progress.
	var live *liveLine
	if isTerminal(logTo) {
		live = &liveLine{w: logTo}
		logTo = live
		defer live.Close()
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	opts.Log = log
	// The server is built and bound before the search is opened: a bad host key or a
	// port in use leaves no experiment behind.
	srv, err := serve.New(opts)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("--ssh %s: %w", opts.Addr, err)
	}
	s, err := openSession(f)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	defer s.close()
	search, stopSearch := context.WithCancel(ctx)
	defer stopSearch()
	srv.Attach(s.eng, s.exp, stopSearch, s.history, s.db, s.workers)
	done := make(chan error, 1)
	go func() {
		err := s.eng.Run(search)
		st := s.eng.Snapshot()
		log.Info("search ended", "experiment", s.x.ID, "state", st.State, "trials", st.Done+st.Failed)
		done <- err
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	log.Info("serving", "experiment", s.x.ID, "addr", srv.Addr().String(), "host_key", opts.HostKey,
		"fingerprint", srv.HostKeyFingerprint(), "keys", len(opts.Keys))
	var serveErr error
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case serveErr = <-served:
			break wait
		case <-tick.C:
			if live != nil {
				live.Set(serveStatus(s.eng.Snapshot(), s.exp.Config.Objectives[0].Name, srv.Sessions()))
			}
		}
	}
	if live != nil {
		live.Close()
	}
	log.Info("shutting down")
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(serveErr, srv.Shutdown(shut))
	stopSearch()
	if runErr := <-done; runErr != nil && !errors.Is(runErr, context.Canceled) {
		err = errors.Join(err, runErr)
	}
	st := s.eng.Snapshot()
	if st.State == engine.Finished {
		fmt.Fprintf(out, "experiment %d: %s after %d trials\n", s.x.ID, st.State, st.Done+st.Failed)
	} else {
		fmt.Fprintf(out, "experiment %d: %s after %d trials; continue with\n  %s%s\n", s.x.ID, st.State, st.Done+st.Failed, serveHint(f.db, s.x.ID, opts), f.nats.flags())
	}
	return err
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// serveHint is the command that resumes a served search as it was started.
func serveHint(db string, id uint64, opts serve.Options) string {
	return fmt.Sprintf("cellar serve --db %s --resume %d --ssh %s --authorized-keys %s --host-key %s",
		shellQuote(db), id, shellQuote(opts.Addr), shellQuote(opts.KeysPath), shellQuote(opts.HostKey))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+[]") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
