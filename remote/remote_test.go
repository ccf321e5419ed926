package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
	"cellar/internal/testtable"
	"cellar/remote"
)

// server starts an embedded NATS server on a free loopback port for the test.
func server(t testing.TB) *remote.Embedded {
	t.Helper()
	s, err := remote.StartEmbedded("127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

func connect(t testing.TB, s *remote.Embedded, name string) *nats.Conn {
	t.Helper()
	nc, err := remote.Connect(s.URL, s.Token, "", name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func tableSrc(t testing.TB, trials, parallel int) string {
	return fmt.Sprintf("name: r\nseed: 7\nspace: nb201\nstrategy: {name: regevo, population: 10, sample: 3}\n"+
		"evaluator: {name: table, path: %s}\nbudget: {trials: %d}\nparallelism: %d\n", testtable.NB201(t, testtable.Smooth), trials, parallel)
}

// workers runs n workers in this process until the test ends. They run the tests'
// trainers (a train.sh anywhere) and no other command.
func workers(t testing.TB, s *remote.Embedded, n int) {
	t.Helper()
	for i := range n {
		w := &remote.Worker{Name: fmt.Sprintf("w%d", i), Parallelism: 2, AllowCommand: []string{"*/train.sh"}}
		runWorker(t, w, connect(t, s, w.Name), "cellar")
	}
}

// runWorker runs w on stream until the test ends; the test then stops it, waits for it
// and fails if it ended with anything but the stop.
func runWorker(t testing.TB, w *remote.Worker, nc *nats.Conn, stream string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, nc, stream) }()
	t.Cleanup(func() {
		cancel()
		if err := testkit.Receive(t, done, "worker "+w.Name+" to stop"); !errors.Is(err, context.Canceled) {
			t.Errorf("worker %s ended with %v", w.Name, err)
		}
	})
}

// remoteSearch runs the experiment with its trials on the queue.
// remoteSearch runs the built experiment with its trials on the queue (options opt,
// experiment key), storing into a MemStore, and returns it and the trials' log.
func remoteSearch(t *testing.T, s *remote.Embedded, exp *engine.Experiment, opt remote.Options, key string) (*enginetest.MemStore, []string) {
	t.Helper()
	ev, err := remote.NewEvaluator(context.Background(), connect(t, s, "search"), opt, key, exp.Source, exp.Evaluator, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	exp.Evaluator = ev
	store := &enginetest.MemStore{}
	log := enginetest.Run(t, exp, engine.Options{Store: remote.Store{Store: store, Evaluator: ev}})
	return store, log
}

// A seeded search through workers gives the same trials in the same order as the
// same search in-process.
func TestSameTrialsThroughWorkers(t *testing.T) {
	s := server(t)
	workers(t, s, 3)
	src := tableSrc(t, 60, 4)
	_, got := remoteSearch(t, s, enginetest.Build(t, src), remote.DefaultOptions, "same")
	want := enginetest.Run(t, enginetest.Build(t, src), engine.Options{})
	if len(got) != 60 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("through workers:\n%v\nin-process:\n%v", got, want)
	}
}

// panicky is an evaluator that panics on every evaluation: a poison job.
type panicky struct{ engine.Evaluator }

func (panicky) Evaluate(context.Context, engine.Job, func(engine.Progress)) (engine.Outcome, error) {
	panic("the poison")
}

// A poison job (its evaluation panics on every worker) fails its trial after
// max_deliver deliveries, with the reason; the search goes on.
func TestPoisonJobFailsItsTrial(t *testing.T) {
	s := server(t)
	evals := evaluators.Builtin()
	evals["panicky"] = func(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
		return panicky{evaluators.NewSize(env.Space)}, c.Decode(&struct{}{})
	}
	var logs testkit.Buffer
	w := &remote.Worker{Name: "w", Parallelism: 1, Evaluators: evals, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	runWorker(t, w, connect(t, s, "w"), "poison")
	exp := enginetest.BuildWith(t, "space: nb201\nstrategy: random\nevaluator: panicky\nbudget: {trials: 2}\n", evals)
	store, _ := remoteSearch(t, s, exp, remote.Options{Stream: "poison", AckWait: time.Second, MaxDeliver: 2}, "poison")
	for _, tr := range store.Trials {
		if tr.State != engine.Failed || !strings.Contains(tr.Error, "delivered 2 times") || !strings.Contains(tr.Error, "panicked on worker w: the poison") {
			t.Errorf("trial %d: %s %q", tr.ID, tr.State, tr.Error)
		}
	}
	if len(store.Trials) != 2 {
		t.Errorf("%d trials; the search must go on", len(store.Trials))
	}
}

// An outcome that comes twice (a job run again after its worker went quiet) is dropped
// by trial id: the stored trials are those of the search in-process.
func TestDuplicateOutcomesAreDropped(t *testing.T) {
	s := server(t)
	workers(t, s, 2)
	src := tableSrc(t, 30, 2)
	exp := enginetest.Build(t, src)
	nc := connect(t, s, "search")
	ev, err := remote.NewEvaluator(context.Background(), nc, remote.DefaultOptions, "dups", exp.Source, exp.Evaluator, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	exp.Evaluator = ev
	store := &enginetest.MemStore{}
	js, _ := jetstream.New(nc)
	var got []string
	opt := engine.Options{Store: remote.Store{Store: store, Evaluator: ev}, Observe: func(tr engine.Trial) {
		got = append(got, fmt.Sprintf("%d %s %s %v", tr.ID, tr.Arch, tr.Origin, tr.Metrics)) // as enginetest.Run logs
		// Once stored, the trial's outcome comes again, with other values.
		b, _ := json.Marshal(map[string]any{"protocol": remote.Protocol, "experiment": "dups", "trial": tr.ID, "worker": "liar",
			"outcome": map[string]any{"metrics": map[string]float64{"test_accuracy": -1}}})
		js.Publish(context.Background(), fmt.Sprintf("cellar.results.dups.%d", tr.ID), b)
	}}
	if err := engine.New(exp, opt).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, "the 30 duplicates to be dropped", func() bool { return ev.Duplicates() == 30 })
	want := enginetest.Run(t, enginetest.Build(t, src), engine.Options{})
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 30 {
		t.Errorf("with duplicates:\n%v\nin-process:\n%v", got, want)
	}
}

// With the token and no worker running, outcomes published for every trial (one a
// trial, before and while the search asks for it) are dropped: none names the nonce
// of a job the search sent. The search then ends with the workers' outcomes, as
// in-process.
func TestOutcomesForJobsNeverSentAreDropped(t *testing.T) {
	s := server(t)
	src := tableSrc(t, 20, 2)
	exp := enginetest.Build(t, src)
	nc := connect(t, s, "search")
	var logged testkit.Buffer
	opt := remote.DefaultOptions
	opt.Log = slog.New(slog.NewTextHandler(&logged, nil))
	ev, err := remote.NewEvaluator(context.Background(), nc, opt, "forged", exp.Source, exp.Evaluator, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	exp.Evaluator = ev
	js, _ := jetstream.New(connect(t, s, "attacker"))
	forge := func(trial uint64, arch, nonce string) {
		b, _ := json.Marshal(map[string]any{"protocol": remote.Protocol, "experiment": "forged", "trial": trial, "worker": "liar", "arch": arch, "nonce": nonce,
			"outcome": map[string]any{"metrics": map[string]float64{"test_accuracy": 100}}})
		if _, err := js.Publish(context.Background(), fmt.Sprintf("cellar.results.forged.%d", trial), b); err != nil {
			t.Fatal(err)
		}
	}
	for id := uint64(1); id <= 20; id++ {
		forge(id, "", "")
	}
	store := &enginetest.MemStore{}
	errc := make(chan error, 1)
	var got []string
	go func() {
		errc <- engine.New(exp, engine.Options{Store: remote.Store{Store: store, Evaluator: ev}, Observe: func(tr engine.Trial) {
			got = append(got, fmt.Sprintf("%d %s %s %v", tr.ID, tr.Arch, tr.Origin, tr.Metrics))
		}}).Run(context.Background())
	}()
	// While the first two trials wait for a worker, an outcome with their arch but no
	// nonce of theirs is dropped too.
	testkit.WaitFor(t, "the first jobs to be on the queue", func() bool {
		n, err := js.Stream(context.Background(), "cellar")
		if err != nil {
			return false
		}
		info, err := n.Info(context.Background())
		return err == nil && info.State.Msgs >= 2
	})
	forge(1, "", "00112233445566778899aabbccddeeff")
	testkit.WaitFor(t, "the forged outcomes to be dropped", func() bool { return ev.Rejected() >= 3 })
	store.Lock()
	stored := len(store.Trials)
	store.Unlock()
	if stored != 0 {
		t.Fatalf("%d trials stored from forged outcomes", stored)
	}
	workers(t, s, 2)
	if err := testkit.Receive(t, errc, "the search to end"); err != nil {
		t.Fatal(err)
	}
	want := enginetest.Run(t, enginetest.Build(t, src), engine.Options{})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("with forged outcomes:\n%v\nin-process:\n%v", got, want)
	}
	if n := strings.Count(logged.String(), "dropped an outcome that names no job this search sent"); n != ev.Rejected() {
		t.Errorf("%d forged outcomes dropped, %d logged:\n%s", ev.Rejected(), n, logged.String())
	}
	t.Logf("%d forged outcomes dropped", ev.Rejected())
}

// A worker refuses a job of another protocol version, and says which.
func TestWorkerRefusesAnotherProtocol(t *testing.T) {
	s := server(t)
	nc := connect(t, s, "search")
	exp := enginetest.Build(t, tableSrc(t, 1, 1))
	ev, err := remote.NewEvaluator(context.Background(), nc, remote.DefaultOptions, "old", exp.Source, exp.Evaluator, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	js, _ := jetstream.New(nc)
	b, _ := json.Marshal(map[string]any{"protocol": remote.Protocol + 98, "experiment": "old", "trial": 1, "arch": "x"})
	if _, err := js.Publish(context.Background(), "cellar.jobs.old.1", b); err != nil {
		t.Fatal(err)
	}
	var logs testkit.Buffer
	w := &remote.Worker{Name: "w", Log: slog.New(slog.NewTextHandler(&logs, nil))}
	runWorker(t, w, connect(t, s, "w"), "cellar")
	want := fmt.Sprintf("refused a job of protocol %d: this worker speaks %d", remote.Protocol+98, remote.Protocol)
	testkit.WaitFor(t, "the refusal", func() bool { return strings.Contains(logs.String(), want) })
}

// The NATS server restarted mid-search (same port, same file store): the search and
// the workers reconnect, and the search ends with every trial, as in-process.
func TestServerRestartMidSearch(t *testing.T) {
	dir := t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s, err := remote.StartEmbedded(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	workers(t, s, 2)
	src := tableSrc(t, 40, 3)
	exp := enginetest.Build(t, src)
	ev, err := remote.NewEvaluator(context.Background(), connect(t, s, "search"), remote.Options{AckWait: time.Second}, "restart", exp.Source, exp.Evaluator, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	exp.Evaluator = ev
	var n atomic.Int32
	restarted := make(chan struct{})
	got := make(chan []string, 1)
	go func() {
		var log []string
		opt := engine.Options{Store: remote.Store{Store: &enginetest.MemStore{}, Evaluator: ev}, Observe: func(tr engine.Trial) {
			log = append(log, fmt.Sprintf("%d %s %s %v", tr.ID, tr.Arch, tr.Origin, tr.Metrics))
			if n.Add(1) == 10 {
				close(restarted)
			}
		}}
		if err := engine.New(exp, opt).Run(context.Background()); err != nil {
			t.Error(err)
		}
		got <- log
	}()
	testkit.Wait(t, restarted, "10 trials before the restart")
	s.Shutdown()
	s2, err := remote.StartEmbedded(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown()
	var log []string
	select {
	case log = <-got:
	case <-time.After(2 * time.Minute):
		t.Fatalf("the search did not finish after the restart (%d trials)", n.Load())
	}
	if want := enginetest.Run(t, enginetest.Build(t, src), engine.Options{}); fmt.Sprint(log) != fmt.Sprint(want) {
		t.Errorf("after a restart:\n%v\nin-process:\n%v", log, want)
	}
}

// A job asks for a command the worker's operator did not allow: the worker refuses
// it, the program never runs, and the trial fails saying so; with the command
// allowed, it runs.
func TestAWorkerRunsOnlyTheCommandsItsOperatorAllows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs a shell script")
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	run := filepath.Join(dir, "payload.sh")
	os.WriteFile(run, []byte("#!/bin/sh\ntouch "+marker+"\necho '{\"metrics\": {\"val_accuracy\": 1}}'\n"), 0o755)
	src := "space: {name: nb201, channels: 4, cells: 1}\nstrategy: random\nevaluator: {name: command, run: [" + run + "]}\nbudget: {trials: 2}\n"
	for _, c := range []struct {
		name  string
		allow []string
		want  string
	}{
		{"none allowed", nil, "runs no commands"},
		{"another allowed", []string{"/usr/bin/python3 *"}, "does not allow"},
		{"allowed", []string{"*/payload.sh"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := server(t)
			os.Remove(marker)
			w := &remote.Worker{Name: "w", Parallelism: 1, AllowCommand: c.allow, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			runWorker(t, w, connect(t, s, "w"), "cellar")
			store, _ := remoteSearch(t, s, enginetest.Build(t, src), remote.Options{AckWait: time.Second, MaxDeliver: 1}, "cmd")
			_, err := os.Stat(marker)
			for _, tr := range store.Trials {
				if c.want == "" && tr.State != engine.Done {
					t.Errorf("trial %d: %s %s", tr.ID, tr.State, tr.Error)
				}
				if c.want != "" && (tr.State != engine.Failed || !strings.Contains(tr.Error, c.want)) {
					t.Errorf("trial %d: %s %q; want a failure with %q", tr.ID, tr.State, tr.Error, c.want)
				}
			}
			if ran := err == nil; ran != (c.want == "") {
				t.Errorf("the program ran: %v", ran)
			}
		})
	}
}

// A worker with devices hands one to each slot: a command evaluator's trainer sees
// only its slot's (CUDA_VISIBLE_DEVICES).
func TestWorkerDevicesPerSlot(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs a shell script")
	}
	run := filepath.Join(t.TempDir(), "train.sh")
	os.WriteFile(run, []byte("#!/bin/sh\nsleep 0.05\necho '{\"metrics\": {\"val_accuracy\": 1, \"device\": '$CUDA_VISIBLE_DEVICES'}}'\n"), 0o755)
	s := server(t)
	w := &remote.Worker{Name: "gpus", Parallelism: 2, Devices: []string{"3", "4"}, AllowCommand: []string{"*/train.sh"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	runWorker(t, w, connect(t, s, "gpus"), "cellar")
	exp := enginetest.Build(t, "space: {name: nb201, channels: 4, cells: 1}\nstrategy: random\nevaluator: {name: command, run: ["+run+"], metrics: [val_accuracy, device]}\nbudget: {trials: 8}\nparallelism: 2\n")
	store, _ := remoteSearch(t, s, exp, remote.DefaultOptions, "gpus")
	seen := map[float64]int{}
	for _, tr := range store.Trials {
		if tr.State != engine.Done {
			t.Fatalf("trial %d: %s", tr.ID, tr.Error)
		}
		seen[tr.Metrics["device"]]++
	}
	if len(seen) != 2 || seen[3] == 0 || seen[4] == 0 {
		t.Errorf("devices the trainers saw: %v; want 3 and 4", seen)
	}
}

// Early stopping with trials on workers: the search judges each epoch report and sends
// its stop to the worker, which ends the training (the trainer's process too) and
// reports the trial stopped with its curve so far.
func TestEarlyStoppingJudgedBySearch(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("runs a shell script")
	}
	dir := t.TempDir()
	run := filepath.Join(dir, "train.sh")
	// Accuracy falls with the trial id: later trials rank low at the first rungs.
	os.WriteFile(run, []byte(`#!/bin/sh
echo $$ > `+dir+`/$CELLAR_TRIAL_ID.pid
for e in 1 2 3 4 5 6 7 8 9; do
  echo '{"epoch": '$e', "metrics": {"val_accuracy": '$(( 100 - CELLAR_TRIAL_ID ))'}}'
  sleep 0.05
done
echo '{"metrics": {"val_accuracy": '$(( 100 - CELLAR_TRIAL_ID ))'}}'
`), 0o755)
	s := server(t)
	workers(t, s, 1)
	exp := enginetest.Build(t, "space: {name: nb201, channels: 4, cells: 1}\nstrategy: random\n"+
		"evaluator: {name: command, run: ["+run+"], epochs: 9, early_stop: {rule: asha, grace: 1, eta: 3}}\nbudget: {trials: 9}\n")
	store, _ := remoteSearch(t, s, exp, remote.DefaultOptions, "es")
	stopped := 0
	for _, tr := range store.Trials {
		if tr.State != engine.Done {
			t.Errorf("trial %d: %s %s", tr.ID, tr.State, tr.Error)
			continue
		}
		if tr.Stop == nil {
			if len(tr.Curve) != 9 {
				t.Errorf("trial %d trained to the end in %d epochs", tr.ID, len(tr.Curve))
			}
			continue
		}
		stopped++
		if tr.Stop.Rule != "asha" || len(tr.Curve) >= 9 || tr.Metrics["val_accuracy"] != float64(100-tr.ID) {
			t.Errorf("stopped trial %d: stop %+v, %d epochs, metrics %v", tr.ID, tr.Stop, len(tr.Curve), tr.Metrics)
		}
		b, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.pid", tr.ID)))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		testkit.WaitFor(t, fmt.Sprintf("the trainer of stopped trial %d to end", tr.ID), func() bool { return syscall.Kill(pid, 0) != nil })
	}
	if stopped == 0 {
		t.Error("no trial was stopped early")
	}
	if st, err := exp.Evaluator.(engine.Stateful).State(); err != nil || len(st) == 0 { // the remote evaluator, after the run
		t.Errorf("the search keeps no early-stopping state: %v", err)
	}
}

// A worker that cannot build the experiment (it lacks an evaluator the search has)
// refuses its jobs, saying why; with no worker to take them, the trials fail after
// max_deliver with that reason.
func TestWorkerRefusesAnExperimentItCannotBuild(t *testing.T) {
	s := server(t)
	evals := evaluators.Builtin()
	evals["mine"] = func(c engine.Component, env engine.EvaluatorEnv) (engine.Evaluator, error) {
		return evaluators.NewSize(env.Space), c.Decode(&struct{}{})
	}
	var logs testkit.Buffer
	w := &remote.Worker{Name: "plain", Parallelism: 1, Log: slog.New(slog.NewTextHandler(&logs, nil))} // the built-in evaluators only
	runWorker(t, w, connect(t, s, "plain"), "mine")
	exp := enginetest.BuildWith(t, "space: nb201\nstrategy: random\nevaluator: mine\nbudget: {trials: 2}\n", evals)
	store, _ := remoteSearch(t, s, exp, remote.Options{Stream: "mine", AckWait: time.Second, MaxDeliver: 2}, "mine")
	for _, tr := range store.Trials {
		if tr.State != engine.Failed || !strings.Contains(tr.Error, `worker plain refused it`) || !strings.Contains(tr.Error, `unknown evaluator "mine"`) {
			t.Errorf("trial %d: %s %q", tr.ID, tr.State, tr.Error)
		}
	}
	if !strings.Contains(logs.String(), "refused a job: this worker cannot evaluate its experiment") {
		t.Errorf("the worker's log does not say it refused:\n%s", logs.String())
	}
}

// A worker started before its server waits for it, saying why, and then works: the
// search started later ends with every trial.
func TestAWorkerWaitsForItsServer(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	const token = "0123456789abcdef0123456789abcdef"
	os.WriteFile(filepath.Join(dir, "token"), []byte(token+"\n"), 0o600) // the server keeps and uses it
	var failures atomic.Int32
	nc, err := remote.ConnectWaiting("nats://"+addr, token, "", "early", func(error) { failures.Add(1) })
	if err != nil {
		t.Fatalf("a worker before its server: %v", err)
	}
	t.Cleanup(nc.Close)
	runWorker(t, &remote.Worker{Name: "early", Parallelism: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, nc, "cellar")
	testkit.WaitFor(t, "the worker to find no server", func() bool { return failures.Load() > 0 })
	s, err := remote.StartEmbedded(addr, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	store, _ := remoteSearch(t, s, enginetest.Build(t, tableSrc(t, 12, 2)), remote.DefaultOptions, "late")
	if len(store.Trials) != 12 {
		t.Errorf("%d trials", len(store.Trials))
	}
}
