package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"cellar/engine"
	"cellar/evaluators"
)

// Exit codes, as docs/reliability.md documents them: 0 finished (or quit from the UI), 1
// failed, 130 stopped by SIGINT (or Ctrl-C in the UI), 143 stopped by SIGTERM.
const (
	exitFailed      = 1
	exitInterrupted = 130
	exitTerminated  = 143
)

// exitCode is an error that sets the process's exit status; main prints its cause,
// when it has one, as any other error.
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e exitCode) Unwrap() error { return e.err }

// stoppedBy is the error of a command a signal stopped after it stored its work: the
// exit status says which signal, and there is nothing more to print.
func stoppedBy(sig os.Signal) error {
	if sig == syscall.SIGTERM {
		return exitCode{code: exitTerminated}
	}
	return exitCode{code: exitInterrupted}
}

// Execute runs cellar's command line (args without the program name) and returns
// the process's exit status, printing an error on stderr.
func Execute(args []string, stderr io.Writer) int {
	return execute(args, stderr, evaluators.Builtin())
}

// execute runs the command line with the evaluators evals.
func execute(args []string, stderr io.Writer, evals map[string]engine.EvaluatorFactory) int {
	root := newRoot(evals)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ec exitCode
	if errors.As(err, &ec) {
		if ec.err != nil {
			fmt.Fprintln(stderr, "cellar:", ec.err)
		}
		return ec.code
	}
	fmt.Fprintln(stderr, "cellar:", err)
	return exitFailed
}

// onSignal returns a context that ends at SIGINT or SIGTERM, and a function that says
// which of them came (nil while none has). stop releases the signals.
func onSignal(parent context.Context) (ctx context.Context, got func() os.Signal, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var which atomic.Value
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			which.Store(sig)
			cancel()
		case <-done:
		}
	}()
	got = func() os.Signal {
		sig, _ := which.Load().(os.Signal)
		return sig
	}
	stop = func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
	return ctx, got, stop
}
