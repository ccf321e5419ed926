package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cellar/engine"
	"cellar/evaluators"
	"cellar/internal/testtable"
	"cellar/storage"
)

// A cascade run, replayed from the DB (three at a time), gives the same trials; a fork
// at trial 15 starts a second experiment that holds the original's first 15 trials
// and goes on from the recorded state, the cascade's history included; the audit
// lists what was changed by hand.
func TestReplayForkAndAuditFromTheDB(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	db := filepath.Join(t.TempDir(), "r.db")
	exp := writeExp(t, fmt.Sprintf(`
name: replayed
seed: 9
space: nb201
strategy: {name: regevo, population: 10, sample: 3}
evaluator: {name: cascade, rungs: [{name: flops}, {name: table, path: %s}]}
objectives: [{name: test_accuracy}]
budget: {trials: 40}
`, table))
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	stored := len(storedTrials(t, db)) // the budget's 40, and the duplicates of some (dedupe)
	out, err := cellar(t, "replay", "--db", db, "--exp", "1")
	if err != nil || !strings.Contains(out, fmt.Sprintf("all %d trials match the original", stored)) {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	out, err = cellar(t, "replay", "--db", db, "--exp", "1", "--json", "--parallelism", "3")
	var rep struct {
		Trials, Replayed int
		Differences      []string
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || rep.Trials != stored || rep.Replayed != stored || len(rep.Differences) != 0 {
		t.Fatalf("replay --json: %v %+v\n%s", err, rep, out)
	}

	if out, err := cellar(t, "fork", "--db", db, "--exp", "1", "--at", "15", "--no-progress"); err != nil {
		t.Fatalf("fork: %v\n%s", err, out)
	}
	d, err := storage.OpenReadOnly(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	infos, _ := d.Experiments()
	x1, _ := d.Experiment(1)
	x2, err := d.Experiment(2)
	if err != nil || len(infos) != 2 || infos[1].Name != "replayed (fork of 1 at 15)" {
		t.Fatalf("experiments %+v: %v", infos, err)
	}
	a, _ := x1.Trials()
	b, _ := x2.Trials()
	if len(b) != len(a) || evaluated(b) != 40 {
		t.Fatalf("the fork has %d trials (%d evaluated); the original %d", len(b), evaluated(b), len(a))
	}
	for i := range a {
		// The table and flops are deterministic, so the fork asks what the original
		// did, after the point too.
		if a[i].Arch != b[i].Arch || a[i].Status() != b[i].Status() || a[i].Metrics["test_accuracy"] != b[i].Metrics["test_accuracy"] {
			t.Errorf("trial %d: original %s %s, fork %s %s", i+1, a[i].Arch, a[i].Status(), b[i].Arch, b[i].Status())
		}
	}
	// The history up to the point was taken, not evaluated: it keeps its times.
	for i := range a {
		if same := a[i].Finished.Equal(b[i].Finished); same != (i < 15) {
			t.Errorf("trial %d: finished at the same time in both: %v", i+1, same)
		}
	}
	// A trial the cascade stopped shows where and why, and every rung it reached.
	for _, tr := range a {
		if tr.Stop == nil {
			continue
		}
		out, err := cellar(t, "show", "--db", db, "--exp", "1", fmt.Sprint(tr.ID))
		if err != nil || !strings.Contains(out, "state:    stopped") || !strings.Contains(out, "stopped:  cascade, at rung 0: rung 0 (flops): ranked") || !strings.Contains(out, "rung 0:   flops") {
			t.Errorf("show a stopped trial: %v\n%s", err, out)
		}
		break
	}
	// The rungs offline: how many reached and passed each, and how the cheap rung
	// ranks against the table.
	out, err = cellar(t, "trials", "--db", db, "--exp", "1", "--rungs", "--json")
	var rr struct {
		Rungs []rungRow
	}
	if err != nil || json.Unmarshal([]byte(out), &rr) != nil || len(rr.Rungs) != 2 || rr.Rungs[0].Reached != 40 ||
		rr.Rungs[1].Reached != rr.Rungs[0].Promoted || rr.Rungs[0].N != rr.Rungs[0].Promoted || rr.Rungs[0].Spearman == 0 {
		t.Errorf("trials --rungs: %v %+v\n%s", err, rr, out)
	}
	if out, err := cellar(t, "trials", "--db", db, "--exp", "1", "--rungs"); err != nil || !strings.Contains(out, "flops") || !strings.Contains(out, "VS NEXT") || !strings.Contains(out, "PARAMS VS NEXT") || !strings.Contains(out, "WITH PARAMS") {
		t.Errorf("trials --rungs: %v\n%s", err, out)
	}
	j2, _ := x2.Journal()
	if len(j2) < 80 {
		t.Errorf("the fork's journal has %d entries; it should hold the replayed history and its own", len(j2))
	}
	d.Close()

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fork", "--db", db, "--exp", "1", "--at", "999"}, "never told trial 999"},
		{[]string{"fork", "--db", db, "--exp", "1"}, "--exp ID --at TRIAL"},
		{[]string{"replay", "--db", db, "--exp", "7"}, "no experiment 7"},
	} {
		if _, err := cellar(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v; want %q", c.args, err, c.want)
		}
	}
	out, err = cellar(t, "audit", "--db", db, "--exp", "1")
	if err != nil || !strings.Contains(out, "no steering changes") {
		t.Errorf("audit: %v\n%s", err, out)
	}
}

// Steering and hand-made trials reach the DB's journal with who made them, and
// `cellar audit` lists them.
func TestAuditListsSteeringFromTheDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	d, err := storage.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	src := []byte("name: audited\nseed: 2\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: 300}\n")
	cfg, _ := engine.ParseConfig(src)
	exp, err := engine.Build(cfg, src, evaluators.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	x, _ := d.CreateExperiment(cfg.Name, src)
	// From the 30th evaluation on, trials wait for the changes: however fast the
	// evaluator, they come mid-run.
	hold := &heldAfter{Evaluator: exp.Evaluator, after: 30, gate: make(chan struct{})}
	exp.Evaluator = hold
	eng := engine.New(exp, engine.Options{Store: x})
	sub := eng.Subscribe()
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	steered := false
	for ev := range sub.C {
		if ev.Kind == engine.TrialFinished && ev.Trial.ID >= 20 && !steered {
			steered = true
			if err := eng.Steer("grace", "mutations", 3); err != nil {
				t.Error(err)
			}
			// A change that cannot fit is refused (here at the next ask, as it is
			// judged after the mutations change), and the audit keeps it too.
			eng.Steer("heidi", "population", 2)
			hand, _ := exp.Space.Parse([]byte("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"))
			if err := eng.InjectAs("grace", hand, 4); err != nil {
				t.Error(err)
			}
			close(hold.gate)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d.Close()
	out, err := cellar(t, "audit", "--db", path, "--exp", "1")
	if err != nil || !strings.Contains(out, "grace") || !strings.Contains(out, "mutations 1 -> 3") || !strings.Contains(out, "hand-made |nor_conv_3x3~0|") ||
		!regexp.MustCompile(`heidi +\d+ +population \d+ -> 2 refused: .*below the sample`).MatchString(out) {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	out, err = cellar(t, "audit", "--db", path, "--exp", "1", "--json")
	var entries []engine.Entry
	if err != nil || json.Unmarshal([]byte(out), &entries) != nil || len(entries) != 3 || entries[0].Time.IsZero() {
		t.Fatalf("audit --json: %v %+v", err, entries)
	}
	// And the steered search replays.
	if out, err := cellar(t, "replay", "--db", path, "--exp", "1"); err != nil || !strings.Contains(out, "all 300 trials match") || !strings.Contains(out, "1 steering changes, 1 hand-made") {
		t.Errorf("replay: %v\n%s", err, out)
	}
}

// heldAfter makes evaluations after the first `after` wait until gate closes.
type heldAfter struct {
	engine.Evaluator
	after int64
	n     atomic.Int64
	gate  chan struct{}
}

func (h *heldAfter) Evaluate(ctx context.Context, job engine.Job, p func(engine.Progress)) (engine.Outcome, error) {
	if h.n.Add(1) > h.after {
		select {
		case <-h.gate:
		case <-ctx.Done():
			return engine.Outcome{}, ctx.Err()
		}
	}
	return h.Evaluator.Evaluate(ctx, job, p)
}
