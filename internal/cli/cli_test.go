package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/testkit"
)

// slowTable is the table evaluator with a delay, so a search lasts long enough to be
// killed in the middle.
type slowTable struct {
	*evaluators.Table
	delay time.Duration
}

func (s slowTable) Evaluate(ctx context.Context, job engine.Job, p func(engine.Progress)) (engine.Outcome, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return engine.Outcome{}, ctx.Err()
	}
	return s.Table.Evaluate(ctx, job, p)
}

// testEvaluators are the built-in evaluators and the slow table.
func testEvaluators() map[string]engine.EvaluatorFactory {
	evals := evaluators.Builtin()
	for k, v := range map[string]engine.EvaluatorFactory{
		"slowtable": func(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
			var opt struct {
				Path  string        `yaml:"path"`
				Delay time.Duration `yaml:"delay"`
			}
			if err := c.Decode(&opt); err != nil {
				return nil, err
			}
			t, err := evaluators.LoadTable(opt.Path, env.Space, "")
			if err != nil {
				return nil, err
			}
			return slowTable{t, opt.Delay}, nil
		},
	} {
		evals[k] = v
	}
	return evals
}

// TestMain turns the test binary into a cellar child process when asked, so the crash
// test can kill a real search process.
func TestMain(m *testing.M) {
	if args := os.Getenv("CELLAR_TEST_CHILD"); args != "" {
		os.Exit(execute(strings.Split(args, "\x1f"), os.Stderr, testEvaluators()))
	}
	os.Exit(m.Run())
}

// cellar runs the CLI in this process and returns its stdout.
func cellar(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(testEvaluators())
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.Execute()
	return out.String(), err
}

// interactive runs the CLI in this process with its input on a pipe, for the
// terminal programs (tui, browse): it returns what the program printed so far, the
// keys to type, and the command's error when it ends.
func interactive(t *testing.T, args ...string) (out *testkit.Buffer, keys io.Writer, done <-chan error) {
	t.Helper()
	out = &testkit.Buffer{}
	in, w := io.Pipe()
	root := newRoot(testEvaluators())
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(out)
	errc := make(chan error, 1)
	go func() { errc <- root.Execute() }()
	return out, w, errc
}

func writeExp(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "exp.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
