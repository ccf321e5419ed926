package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"

	"cellar/engine"
	"cellar/groundtruth"
	"cellar/internal/testkit"
	"cellar/internal/testtable"
	"cellar/spaces"
)

// The bench compares a strategy alone and through a cascade at equal table queries,
// and strategies at equal simulated time, with the CSV saying which.
func TestBenchCascadeAndSimulatedTime(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	out, err := cellar(t, "bench", "--table", table, "--strategies", "regevo", "--runs", "3", "--budget", "20", "--cascade", "[{name: flops}]", "--eta", "2")
	if err != nil || !strings.Contains(out, "regevo, cascade flops → table (eta 2)") || !strings.Contains(out, "120 queries") {
		t.Fatalf("cascade bench: %v\n%s", err, out)
	}
	csvPath := filepath.Join(t.TempDir(), "sim.csv")
	out, err = cellar(t, "bench", "--table", table, "--strategies", "random", "--runs", "3", "--simulate-time", "--time-budget", "2000s", "--csv", csvPath)
	if err != nil || !strings.Contains(out, "3 x FLOPs") || !strings.Contains(out, "2000") {
		t.Fatalf("simulated bench: %v\n%s", err, out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][1] != "simulated_seconds" || rows[4][1] != "2000" {
		t.Errorf("csv %v: %v", rows, err)
	}
	if _, err := cellar(t, "bench", "--table", table, "--strategies", "regevo", "--runs", "2", "--cascade", "[{name: sorcery}]"); err == nil || !strings.Contains(err.Error(), `unknown evaluator "sorcery"`) {
		t.Errorf("bad cascade: %v", err)
	}
}

func TestBenchCSV(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	csvPath := filepath.Join(t.TempDir(), "bench.csv")
	out, err := cellar(t, "bench", "--table", table, "--strategies", "random,regevo", "--runs", "6", "--budget", "60", "--csv", csvPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// The table's best cell: every edge a 3x3 convolution.
	optimum := fmt.Sprintf("optimum %.4f", testtable.Smooth(spaces.NB201Arch{3, 3, 3, 3, 3, 3}))
	if !strings.Contains(out, optimum) || !strings.Contains(out, "regevo") || !strings.Contains(out, "hit@60") || !strings.Contains(out, "0/6  >60") {
		t.Errorf("bench output (wants hit@60 and q50 columns, none of 6 runs at the optimum):\n%s", out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Header, then random and regevo at 10, 20, 50 and 60 queries.
	if len(rows) != 9 || strings.Join(rows[0], ",") != "strategy,queries,metric,mean,std,runs,hits,q50" || rows[4][1] != "60" || rows[8][0] != "regevo" {
		t.Fatalf("csv rows: %v", rows)
	}
	// Best-so-far never decreases with more queries.
	for i := 2; i < len(rows); i++ {
		if rows[i][0] == rows[i-1][0] && rows[i][3] < rows[i-1][3] {
			t.Errorf("mean best fell from %s to %s", rows[i-1][3], rows[i][3])
		}
	}
	if _, err := cellar(t, "bench", "--table", table, "--strategies", "random,annealing"); err == nil || !strings.Contains(err.Error(), `unknown strategy "annealing"`) {
		t.Errorf("unknown strategy: %v", err)
	}
}

// --strategies as a YAML list: options reach the strategy and label its row; a bad
// option is refused.
func TestBenchStrategiesWithOptions(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	out, err := cellar(t, "bench", "--table", table, "--strategies", "[regevo, {name: regevo, warm_start: {proxy: params, sample: 100}}]", "--runs", "3", "--budget", "20")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "regevo{warm_start: {proxy: params, sample: 100}}") {
		t.Errorf("no labelled row:\n%s", out)
	}
	if _, err := cellar(t, "bench", "--table", table, "--strategies", "[{name: regevo, warm_start: {proxy: snip}}]"); err == nil || !strings.Contains(err.Error(), "needs data") {
		t.Errorf("a data proxy for the warm start: %v", err)
	}
}

// cellar bench proxies on a handful of archs: a row per proxy with finite
// correlations, and the CSV of scores.
func TestBenchProxies(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	csvPath, batchPath := filepath.Join(t.TempDir(), "proxies.csv"), filepath.Join(t.TempDir(), "batch.bin")
	out, err := cellar(t, "bench", "proxies", "--table", table, "--n", "6", "--proxies", "synflow,params,naswot", "--data", "noise", "--batch", "4", "--channels", "4", "--cells", "1", "--csv", csvPath, "--save-batch", batchPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"data: standard-normal noise, batch 4", "synflow", "params", "naswot", "spearman"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	raw, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); len(lines) != 7 || lines[0] != "arch,test_accuracy,synflow,params,naswot" {
		t.Errorf("csv:\n%s", raw)
	}
	// The saved batch: N, C, H, W and classes, then 4 x 3x32x32 inputs and 4 x 10 labels.
	b, err := os.ReadFile(batchPath)
	if err != nil {
		t.Fatal(err)
	}
	var head [5]int32
	binary.Read(bytes.NewReader(b), binary.LittleEndian, &head)
	if head != [5]int32{4, 3, 32, 32, 10} || len(b) != 20+4*(4*3*32*32+4*10) {
		t.Errorf("saved batch: header %v, %d bytes", head, len(b))
	}
	if _, err := cellar(t, "bench", "proxies", "--table", table, "--proxies", "synflow,zen"); err == nil || !strings.Contains(err.Error(), `unknown proxy "zen"`) {
		t.Errorf("unknown proxy: %v", err)
	}
}

// A multi-objective bench compares normalised hypervolumes, which grow with queries
// and stay within [0, 1]; a multi-objective search keeps its front for trials --front.
func TestParetoBenchAndFront(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	csvPath := filepath.Join(t.TempDir(), "mo.csv")
	out, err := cellar(t, "bench", "--table", table, "--strategies", "[random, {name: nsga2, population: 10}]", "--runs", "3", "--budget", "60",
		"--objectives", "test_accuracy:max,params:min,flops:min", "--csv", csvPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "hypervolume of the Pareto front") || !strings.Contains(out, "nsga2{population: 10}") {
		t.Errorf("bench output:\n%s", out)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(f).ReadAll()
	f.Close()
	for i := 1; i < len(rows); i++ {
		v, _ := strconv.ParseFloat(rows[i][3], 64)
		if v <= 0 || v > 1 {
			t.Errorf("row %v: hypervolume out of (0, 1]", rows[i])
		}
		if prev, _ := strconv.ParseFloat(rows[i-1][3], 64); i > 1 && rows[i][0] == rows[i-1][0] && v < prev {
			t.Errorf("hypervolume fell: %v after %v", rows[i], rows[i-1])
		}
	}
	if _, err := cellar(t, "bench", "--table", table, "--objectives", "test_accuracy:up"); err == nil || !strings.Contains(err.Error(), "name:max or name:min") {
		t.Errorf("bad --objectives: %v", err)
	}
	t.Run("latency", func(t *testing.T) {
		testkit.Long(t, "measures latency on the machine and estimates it for every arch of the table")
		// Latency as an objective needs the machine's table, from --db.
		lat := []string{"bench", "--table", table, "--strategies", "random", "--runs", "2", "--budget", "20", "--objectives", "test_accuracy:max,latency:min"}
		if _, err := cellar(t, lat...); err == nil || !strings.Contains(err.Error(), "--db F") {
			t.Errorf("latency objective without --db: %v", err)
		}
		db := filepath.Join(t.TempDir(), "lat.db")
		if out, err := cellar(t, "latency", "build", "--db", db, "--spaces", "nb201", "--n", "3", "--reps", "1"); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if out, err := cellar(t, append(lat, "--db", db)...); err != nil || !strings.Contains(out, "test_accuracy:max,latency:min") {
			t.Errorf("latency objective: %v\n%s", err, out)
		}
	})
	exp := writeExp(t, fmt.Sprintf(`
name: mo
seed: 2
space: nb201
strategy: {name: nsga2, population: 8}
evaluator: {name: table, path: %s}
objectives: [{name: test_accuracy, direction: max}, {name: flops, direction: min}]
budget: {trials: 40}
`, table))
	db := filepath.Join(t.TempDir(), "mo.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	all, err := cellar(t, "trials", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	front, err := cellar(t, "trials", "--db", db, "--json", "--front")
	if err != nil {
		t.Fatal(err)
	}
	var a, b struct{ Trials []engine.Trial }
	json.Unmarshal([]byte(all), &a)
	json.Unmarshal([]byte(front), &b)
	if evaluated(a.Trials) != 40 || len(b.Trials) == 0 || len(b.Trials) >= 40 {
		t.Fatalf("%d trials, %d on the front", len(a.Trials), len(b.Trials))
	}
	for _, f := range b.Trials {
		for _, o := range a.Trials {
			if o.Metrics["test_accuracy"] >= f.Metrics["test_accuracy"] && o.Metrics["flops"] <= f.Metrics["flops"] &&
				(o.Metrics["test_accuracy"] > f.Metrics["test_accuracy"] || o.Metrics["flops"] < f.Metrics["flops"]) {
				t.Errorf("front trial %d is dominated by %d", f.ID, o.ID)
			}
		}
	}
}

// bench groundtruth trains, writes every arch as it finishes, and goes on from a
// table that lacks seeds instead of training again what it holds.
func TestBenchGroundTruthResumes(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "gt.csv")
	args := []string{"bench", "groundtruth", "--csv", csvPath, "--n", "3", "--dataset", "mnist", "--train", "512", "--val", "128", "--epochs", "1", "--channels", "2"}
	out, err := cellar(t, args...)
	if err != nil || !strings.Contains(out, "3 archs in") || !strings.Contains(out, "seed 1 against seed 2 over 3 archs: Kendall tau") {
		t.Fatalf("%v\n%s", err, out)
	}
	// Spread over the range: the lowest row, the highest, then the middle one.
	if a, b, c := strings.Index(out, "arch 1/3 (row 1)"), strings.Index(out, "arch 2/3 (row 3)"), strings.Index(out, "arch 3/3 (row 2)"); a < 0 || b < a || c < b {
		t.Errorf("training order:\n%s", out)
	}
	full, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(full)).ReadAll()
	if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "arch,reference,accuracy,params,seed1,seed2" {
		t.Fatalf("%v\n%s", err, full)
	}
	// Take the second seed of the last arch away, as a kill during it would.
	last := recs[3]
	last[2], last[5] = last[4], ""
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(recs)
	if err := os.WriteFile(csvPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = cellar(t, args...)
	if err != nil || !strings.Contains(out, "holds 3 archs") || strings.Count(out, "(row 3)") != 1 || strings.Contains(out, "(row 1)") || strings.Contains(out, "(row 2)") { // only the arch that lacked a seed
		t.Fatalf("resume: %v\n%s", err, out)
	}
	again, _ := os.ReadFile(csvPath)
	if !bytes.Equal(again, full) {
		t.Errorf("resumed table differs:\n%s\nwant\n%s", again, full)
	}
	if _, err := cellar(t, "bench", "groundtruth"); err == nil || !strings.Contains(err.Error(), "--csv") {
		t.Errorf("no --csv: %v", err)
	}
}

// cancelOn is an output that cancels the command's context when it is sent a line
// holding mark: the command stops at its next check, at a known point.
type cancelOn struct {
	bytes.Buffer
	mark   string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.mark) {
		c.cancel()
	}
	return c.Buffer.Write(p)
}

// A build stopped part way says how the seeds of the archs done so far agree.
func TestBenchGroundTruthStoppedReportsAgreement(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "gt.csv")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelOn{mark: "arch 2/3", cancel: cancel}
	root := newRoot(testEvaluators())
	root.SetArgs([]string{"bench", "groundtruth", "--csv", csvPath, "--n", "3", "--dataset", "mnist", "--train", "512", "--val", "128", "--epochs", "1", "--channels", "2"})
	root.SetOut(out)
	root.SetErr(out)
	err := root.ExecuteContext(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(out.String(), "seed 1 against seed 2 over 2 archs: Kendall tau") || strings.Contains(out.String(), "arch 3/3") {
		t.Fatalf("%v\n%s", err, out.String())
	}
	rows, err := groundtruth.Load(csvPath)
	if err != nil || len(rows) != 3 || len(rows[0].Acc) != 2 || len(rows[2].Acc) != 2 || len(rows[1].Acc) != 0 {
		t.Errorf("the stopped table: %+v, %v", rows, err)
	}
}

// A table built with two seeds, continued with --seeds 4, trains seeds 3 and 4 only and
// reports how its two 2-seed means agree.
func TestBenchGroundTruthMoreSeeds(t *testing.T) {
	csvPath := filepath.Join(t.TempDir(), "gt.csv")
	args := []string{"bench", "groundtruth", "--csv", csvPath, "--n", "3", "--dataset", "mnist", "--train", "512", "--val", "128", "--epochs", "1", "--channels", "2"}
	if out, err := cellar(t, args...); err != nil || strings.Contains(out, "seeds 1-2's mean") {
		t.Fatalf("%v\n%s", err, out)
	}
	two, err := groundtruth.Load(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cellar(t, append(args, "--seeds", "4")...)
	if err != nil || !strings.Contains(out, "seeds 1-2's mean against seeds 3-4's over the 3 archs with 4: Kendall tau") ||
		!strings.Contains(out, "(single seeds there: 1-2 ") || !strings.Contains(out, ", 3-4 ") ||
		!strings.Contains(out, "% of pairs of those archs differ by more than twice the standard error of their 4-seed means' difference; the median SD of an arch's seeds is ") {
		t.Fatalf("%v\n%s", err, out)
	}
	four, err := groundtruth.Load(csvPath)
	if err != nil || len(four) != 3 {
		t.Fatalf("%+v, %v", four, err)
	}
	for i, r := range four {
		if len(r.Acc) != 4 || !slices.Equal(r.Acc[:2], two[i].Acc) {
			t.Errorf("row %d: %v, was %v", i, r.Acc, two[i].Acc)
		}
	}
	// Continued with the default seeds, the table keeps all four.
	if out, err := cellar(t, args...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if again, err := groundtruth.Load(csvPath); err != nil || !slices.EqualFunc(again, four, func(a, b groundtruth.Row) bool { return slices.Equal(a.Acc, b.Acc) }) {
		t.Errorf("continued with 2 seeds: %+v, %v", again, err)
	}
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return csv.NewReader(f).ReadAll()
}

// writeSmallGroundTruth writes a ground truth of four archs to dir/gt.csv. The last
// has a 1x1 conv into node 2, which the output cannot see: counted, its params rank
// it above the second arch; its live params (one conv) below, as its accuracy does.
func writeSmallGroundTruth(t *testing.T, dir string) string {
	gt := filepath.Join(dir, "gt.csv")
	rows := "arch,reference,accuracy,params,seed1,seed2\n" +
		"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10,10,100,10,10\n" +
		"|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|,80,60,500,59,61\n" +
		"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,93,80,900,80,80\n" +
		"|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|nor_conv_1x1~1|none~2|,50,40,700,40,40\n"
	if err := os.WriteFile(gt, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	return gt
}

// bench oneshot judges each sampling, and the params proxy (all params, and the ones
// the output depends on), against a ground truth.
func TestBenchOneShotAgainstGroundTruth(t *testing.T) {
	dir := t.TempDir()
	gt := writeSmallGroundTruth(t, dir)
	out := filepath.Join(dir, "scores.csv")
	got, err := cellar(t, "bench", "oneshot", "--groundtruth", gt, "--dataset", "mnist", "--train", "256", "--channels", "2",
		"--score-size", "64", "--recalibrate", "2", "--sampling", "uniform,fair,fewshot", "--epochs", "2", "--csv", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, want := range []string{"4 NB201 archs of " + gt + " against its trained accuracy", "\nuniform ", "\nfair ", "\nfewshot ", "\nparams        0.800    0.667    1.00",
		"\n  live        1.000    1.000    1.00   (live params: the ones the output depends on)",
		"(the same paths ranked by their loss)", "\n  +params ", "(the mean of the loss's rank and params')", "\n  angle ", "\n  +angle ",
		"(the mean of the loss's rank and the angle's: the supernet alone)", "\n  +both ", "\n  acc ",
		"(rank: [oneshot_loss:min, oneshot_angle, live_params], the one-shot rung's default)"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	recs, err := readCSV(out)
	if err != nil || len(recs) != 5 || strings.Join(recs[0], ",") != "arch,accuracy,oneshot_uniform,oneshot_uniform_loss,oneshot_uniform_angle,"+
		"oneshot_fair,oneshot_fair_loss,oneshot_fair_angle,oneshot_fewshot,oneshot_fewshot_loss,oneshot_fewshot_angle" {
		t.Fatalf("csv: %v %v", err, recs)
	}
	for _, rec := range recs[1:] {
		for _, col := range []int{3, 6, 9} {
			if loss, err := strconv.ParseFloat(rec[col], 64); err != nil || !(loss > 0) || math.IsInf(loss, 0) {
				t.Errorf("a loss of %q in %v", rec[col], rec)
			}
		}
		// The all-none arch has no weights of its own, so no angle; the others turned.
		for _, col := range []int{4, 7, 10} {
			angle, err := strconv.ParseFloat(rec[col], 64)
			if err != nil || (angle == 0) != strings.HasPrefix(rec[0], "|none~0|+|none~0|none~1|") || angle < 0 || angle > math.Pi {
				t.Errorf("an angle of %q in %v", rec[col], rec)
			}
		}
	}
	if _, err := cellar(t, "bench", "oneshot"); err == nil || !strings.Contains(err.Error(), "--groundtruth") {
		t.Errorf("neither --table nor --groundtruth: %v", err)
	}
	t.Run("kept supernets", func(t *testing.T) {
		testkit.Long(t, "trains two supernets and scores them five more times")
		// --supernets keeps each trained supernet; a second run takes them up, scores
		// as the first did, and trains nothing; one trained otherwise is refused.
		kept := filepath.Join(dir, "supernets")
		args := []string{"bench", "oneshot", "--groundtruth", gt, "--dataset", "mnist", "--train", "256", "--channels", "2",
			"--score-size", "64", "--recalibrate", "2", "--sampling", "uniform,fewshot", "--epochs", "2", "--supernets", kept}
		first, err := cellar(t, args...)
		if err != nil || strings.Count(first, "supernet epoch") != 4 {
			t.Fatalf("%v\n%s", err, first)
		}
		again, err := cellar(t, args...)
		if err != nil || strings.Contains(again, "supernet epoch") {
			t.Fatalf("second run: %v\n%s", err, again)
		}
		rankings := func(out string) string { // the table's rows, without the times
			var b strings.Builder
			for _, l := range strings.Split(out, "\n") {
				f := strings.Fields(l)
				if len(f) < 4 || (f[0] != "uniform" && f[0] != "fewshot" && f[0] != "loss") {
					continue
				}
				if _, err := strconv.ParseFloat(f[1], 64); err == nil {
					b.WriteString(strings.Join(f[:4], " ") + "\n")
				}
			}
			return b.String()
		}
		if rankings(again) != rankings(first) || rankings(first) == "" {
			t.Errorf("rankings from kept supernets:\n%s\nwant\n%s", rankings(again), rankings(first))
		}
		if _, err := cellar(t, append(slices.Clone(args), "--recalibrate", "3")...); err != nil {
			t.Errorf("rescoring with other recalibration: %v", err)
		}
		// Fine-tuning is scoring, not training: the kept supernets take it, and it moves
		// the scores.
		tuned, err := cellar(t, append(slices.Clone(args), "--finetune", "3", "--finetune-lr", "0.05")...)
		if err != nil || strings.Contains(tuned, "supernet epoch") || !strings.Contains(tuned, "3 fine-tuning steps (lr 0.05)") {
			t.Errorf("rescoring with fine-tuning: %v\n%s", err, tuned)
		} else if rankings(tuned) == rankings(first) {
			t.Errorf("fine-tuned rankings equal the inherited weights':\n%s", rankings(tuned))
		}
		if _, err := cellar(t, append(slices.Clone(args), "--split", "0.25")...); err == nil || !strings.Contains(err.Error(), "SplitAt") {
			t.Errorf("a few-shot supernet split halfway taken for one split at a quarter: %v", err)
		}
		if _, err := cellar(t, append(slices.Clone(args), "--split", "1")...); err == nil || !strings.Contains(err.Error(), "split_at 1") {
			t.Errorf("--split 1: %v", err)
		}
		if _, err := cellar(t, append(slices.Clone(args), "--epochs", "3")...); err == nil || !strings.Contains(err.Error(), "trained with") {
			t.Errorf("a supernet of 2 epochs taken for one of 3: %v", err)
		}
	})
}

// bench darts derives a cell a seed, trains it as the ground truth was trained, and
// places it in the table.
// writeDartsGroundTruth writes a ground truth of 10 archs, accuracies 0 to 90, in dir.
func writeDartsGroundTruth(t *testing.T, dir string) string {
	gt := filepath.Join(dir, "gt.csv")
	var b strings.Builder
	b.WriteString("arch,reference,accuracy,params,seed1\n")
	ops := []string{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"}
	for i := range 10 {
		fmt.Fprintf(&b, "|%s~0|+|%s~0|none~1|+|none~0|none~1|none~2|,%d,%d,100,%d\n", ops[i%5], ops[i/5], 10*i, 10*i, 10*i)
	}
	if err := os.WriteFile(gt, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return gt
}

func TestBenchDartsAgainstGroundTruth(t *testing.T) {
	gt := writeDartsGroundTruth(t, t.TempDir())
	testkit.Sweep(t, []string{"--aux-skip", "--dirichlet"}, nil, func(t *testing.T, flag string) {
		name := map[string]string{"--aux-skip": "darts- (aux_skip)", "--dirichlet": "drnas (dirichlet)"}[flag]
		out, err := cellar(t, "bench", "darts", "--groundtruth", gt, "--seeds", "1", flag, "--epochs", "1", "--dataset", "mnist",
			"--darts-train", "128", "--darts-val", "128", "--train", "256", "--train-epochs", "1", "--train-seeds", "1", "--channels", "2")
		if err != nil || !strings.Contains(out, name+" on mnist, 1 epochs") || !strings.Contains(out, "seed 1: |") ||
			!strings.Contains(out, "of the table") || !strings.Contains(out, "in the top 10%: ") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	if _, err := cellar(t, "bench", "darts"); err == nil || !strings.Contains(err.Error(), "--groundtruth") {
		t.Errorf("no --groundtruth: %v", err)
	}
	t.Run("interrupted", func(t *testing.T) {
		testkit.Long(t, "DARTS in a child process, interrupted twice; TestBenchDartsCSV keeps seeds in -short")
		// Ctrl-C in the second seed: the first is reported, and the exit status says so.
		args := []string{"bench", "darts", "--groundtruth", gt, "--seeds", "3", "--epochs", "4", "--dataset", "mnist",
			"--darts-train", "512", "--darts-val", "512", "--train", "1024", "--train-epochs", "2", "--train-seeds", "1", "--channels", "2"}
		code, out := interruptChild(t, args, "seed 1 done")
		if code != exitInterrupted || !strings.Contains(out, "seed 1: |") || strings.Contains(out, "seed 2: |") ||
			!strings.Contains(out, "in the top 10%: ") || !strings.Contains(out, " of the 1 seeds done\ninterrupted in seed 2") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		// With --csv the seeds done are kept, and the same command goes on from them.
		saved := filepath.Join(t.TempDir(), "darts.csv")
		args = append(args, "--csv", saved)
		code, out = interruptChild(t, args, "seed 1 done")
		if code != exitInterrupted || !strings.Contains(out, "interrupted in seed 2: the seeds done are in "+saved+"; run the same command to go on") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		out, err := cellar(t, append(args, "--seeds", "2")...)
		if err != nil || !strings.Contains(out, "kept in "+saved+")\n") || strings.Count(out, "kept in "+saved+")") != 1 || !strings.Contains(out, "seed 2 done") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
}

// dartsSeedLines are the seed lines of bench darts' output without their timing.
func dartsSeedLines(out string) []string {
	var lines []string
	for _, l := range regexp.MustCompile(`(?m)^seed \d+: .*$`).FindAllString(out, -1) {
		lines = append(lines, l[:strings.LastIndex(l, " (")])
	}
	return lines
}

// bench darts --csv keeps every finished seed; the same command goes on from them to
// the results a run in one go gives, and a file from other flags, or damaged, is
// refused with the line and what is wrong.
func TestBenchDartsCSV(t *testing.T) {
	dir := t.TempDir()
	gt := writeDartsGroundTruth(t, dir)
	saved := filepath.Join(dir, "darts.csv")
	args := func(seeds string, more ...string) []string {
		return append([]string{"bench", "darts", "--groundtruth", gt, "--seeds", seeds, "--aux-skip", "--epochs", "1", "--dataset", "mnist",
			"--darts-train", "128", "--darts-val", "128", "--train", "256", "--train-epochs", "1", "--train-seeds", "1", "--channels", "2"}, more...)
	}
	if out, err := cellar(t, args("1", "--csv", saved)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	first, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(first)), "\n")
	if len(lines) != 2 || lines[0] != "seed,method,epochs,order,darts_train,darts_val,dirichlet_kl,dataset,train,channels,depth,train_epochs,train_seeds,arch,skips,accuracy,beats,seconds" ||
		!strings.HasPrefix(lines[1], "1,darts- (aux_skip),1,1,128,128,,mnist,256,2,1,1,1,|") {
		t.Fatalf("the CSV after seed 1:\n%s", first)
	}
	resumed, err := cellar(t, args("2", "--csv", saved)...)
	if err != nil || !strings.Contains(resumed, "seed 1 kept in "+saved) || strings.Contains(resumed, "seed 1 done") || !strings.Contains(resumed, "seed 2 done") {
		t.Fatalf("%v\n%s", err, resumed)
	}
	whole, err := cellar(t, args("2")...)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dartsSeedLines(resumed), dartsSeedLines(whole); len(want) != 2 || !slices.Equal(got, want) {
		t.Errorf("resumed:\n%s\nin one go:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b, _ := os.ReadFile(saved); !strings.HasPrefix(string(b), string(first)) || strings.Count(string(b), "\n") != 3 {
		t.Errorf("the CSV after seed 2 does not keep seed 1's line:\n%s", b)
	}
	// Other flags: refused, naming the setting, and the file is left as it was.
	before, _ := os.ReadFile(saved)
	if _, err := cellar(t, args("3", "--csv", saved, "--darts-train", "256")...); err == nil ||
		!strings.Contains(err.Error(), saved+": line 2: seed 1 was run with darts_train \"128\" (--darts-train), this run has \"256\"") {
		t.Errorf("other flags: %v", err)
	}
	if after, _ := os.ReadFile(saved); !bytes.Equal(after, before) {
		t.Error("a refused run changed the CSV")
	}
	if _, err := cellar(t, args("3", "--csv", saved, "--dirichlet")...); err == nil || !strings.Contains(err.Error(), "seed 1 was run with method \"darts- (aux_skip)\"") {
		t.Errorf("another method: %v", err)
	}
	// Damaged files: cut in the middle of a line, a bad number, another file's header.
	withField := func(i int, v string) string {
		f := strings.Split(lines[1], ",")
		f[i] = v
		return lines[0] + "\n" + strings.Join(f, ",") + "\n"
	}
	for name, tc := range map[string]struct{ body, want string }{
		"cut":      {string(before[:len(before)-20]), "line 3"},
		"accuracy": {withField(15, "abc"), `line 2: accuracy "abc" is not a percentage`},
		"seconds":  {withField(17, "-1"), `line 2: seconds "-1" is not a duration in seconds`},
		"seed":     {strings.Replace(string(before), "\n1,", "\n0,", 1), `line 2: seed "0" is not a whole number from 1`},
		"twice":    {string(before) + lines[1] + "\n", "line 4: seed 1 appears twice"},
		"header":   {"arch,reference,accuracy,params,seed1\n", "not a bench darts CSV"},
		"arch":     {strings.Replace(string(before), "|,", "|x,", 1), "line 2: arch: "},
	} {
		bad := filepath.Join(dir, name+".csv")
		if err := os.WriteFile(bad, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := cellar(t, args("2", "--csv", bad)...); err == nil || !strings.Contains(err.Error(), "--csv "+bad+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Ctrl-C stops a ground-truth build as a real process: it exits 130 with the archs done
// written and their agreement printed, not killed part way through its report.
func TestBenchGroundTruthInterrupted(t *testing.T) {
	testkit.Long(t, "trains archs in a child process until it is interrupted")
	csvPath := filepath.Join(t.TempDir(), "gt.csv")
	args := []string{"bench", "groundtruth", "--csv", csvPath, "--n", "8", "--dataset", "mnist", "--train", "2048", "--val", "128", "--epochs", "2", "--channels", "2"}
	code, out := interruptChild(t, args, "arch 2/8 ")
	if code != exitInterrupted || !strings.Contains(out, "seed 1 against seed 2 over ") ||
		!strings.Contains(out, "interrupted: the archs done are in "+csvPath) {
		t.Fatalf("exit %d\n%s", code, out)
	}
	rows, err := groundtruth.Load(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, r := range rows {
		if len(r.Acc) == 2 {
			done++
		}
	}
	if done < 2 || done == len(rows) {
		t.Errorf("%d of %d archs written", done, len(rows))
	}
}

// interruptChild runs cellar with args in a child process, sends it SIGINT once its
// stderr has printed a line starting with after, and returns its exit status and
// standard output.
func interruptChild(t *testing.T, args []string, after string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CELLAR_TEST_CHILD="+strings.Join(args, "\x1f"))
	var out strings.Builder
	cmd.Stdout = &out
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), after) {
	}
	cmd.Process.Signal(syscall.SIGINT)
	for sc.Scan() {
	}
	cmd.Wait()
	return cmd.ProcessState.ExitCode(), out.String()
}

// Ctrl-C while bench oneshot trains keeps the epochs done in --supernets, and the
// same command goes on from there to the scores an uninterrupted run gives; Ctrl-C
// while it scores prints the rows of the archs scored so far.
func TestBenchOneShotInterrupted(t *testing.T) {
	testkit.Long(t, "a supernet trained for 20 epochs in a child process, interrupted twice")
	dir := t.TempDir()
	gt := writeSmallGroundTruth(t, dir)
	kept := filepath.Join(dir, "supernets")
	args := func(supernets, csvPath string) []string {
		return []string{"bench", "oneshot", "--groundtruth", gt, "--dataset", "mnist", "--train", "1024", "--channels", "2",
			"--score-size", "64", "--recalibrate", "2", "--sampling", "uniform", "--epochs", "20", "--supernets", supernets, "--csv", csvPath}
	}
	interrupted := filepath.Join(dir, "interrupted.csv")
	code, out := interruptChild(t, args(kept, interrupted), "uniform supernet epoch 2/20")
	saved := filepath.Join(kept, "uniform.supernet")
	var done int
	if _, err := fmt.Sscanf(out[strings.Index(out, "interrupted: ")+len("interrupted: "):], "the uniform supernet had trained %d of 20 epochs", &done); err != nil ||
		code != exitInterrupted || done < 2 || done >= 20 || !strings.Contains(out, "they are in "+saved+": run the same command to go on") {
		t.Fatalf("exit %d, %d epochs (%v)\n%s", code, done, err, out)
	}
	if _, err := os.Stat(interrupted); err == nil {
		t.Errorf("an interrupted run wrote its CSV")
	}
	resumed, err := cellar(t, args(kept, interrupted)...)
	if err != nil || strings.Count(resumed, "supernet epoch") != 20-done || !strings.Contains(resumed, fmt.Sprintf("epoch %d/20", done+1)) {
		t.Fatalf("resumed after %d epochs: %v\n%s", done, err, resumed)
	}
	whole := filepath.Join(dir, "whole.csv")
	if out, err := cellar(t, args(filepath.Join(dir, "other"), whole)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	a, errA := os.ReadFile(interrupted)
	b, errB := os.ReadFile(whole)
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Errorf("scores after the interrupt:\n%s\nuninterrupted:\n%s", a, b)
	}

	// Scoring: 200 archs of the built-in table, on the trained supernet just kept.
	score := []string{"bench", "oneshot", "--table", "nb201", "--n", "200", "--dataset", "mnist", "--train", "1024", "--channels", "2",
		"--score-size", "64", "--recalibrate", "2", "--sampling", "uniform", "--epochs", "20", "--supernets", kept}
	code, out = interruptChild(t, score, "uniform scored 20/200 archs")
	var scored int
	if i := strings.Index(out, "interrupted: "); i < 0 || code != exitInterrupted {
		t.Fatalf("exit %d\n%s", code, out)
	} else if _, err := fmt.Sscanf(out[i:], "interrupted: uniform scored %d of 200 archs", &scored); err != nil || scored < 20 || scored >= 200 {
		t.Fatalf("%d scored (%v)\n%s", scored, err, out)
	}
	if !strings.Contains(out, "\nuniform ") || !strings.Contains(out, fmt.Sprintf("(the same %d archs)", scored)) {
		t.Errorf("no rows for the %d archs scored:\n%s", scored, out)
	}
	t.Logf("interrupted after %d epochs, and after %d archs scored", done, scored)
}

// A ground truth keeps its settings beside it: continuing it takes them, a flag that
// differs is refused, an old table without them is continued with a warning and gets
// them, and bench darts and bench oneshot train as the table was trained.
func TestGroundTruthSettingsKept(t *testing.T) {
	dir := t.TempDir()
	gt := filepath.Join(dir, "gt.csv")
	settings := filepath.Join(dir, "gt.settings.json")
	if out, err := cellar(t, "bench", "groundtruth", "--csv", gt, "--n", "10", "--dataset", "mnist", "--train", "512", "--val", "128",
		"--epochs", "1", "--channels", "2", "--seeds", "1"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	kept, err := groundtruth.LoadSettings(gt)
	if err != nil || kept == nil || kept.Dataset != "mnist" || kept.Train != 512 || kept.Val != 128 || kept.Epochs != 1 || kept.Channels != 2 || kept.N != 10 {
		t.Fatalf("settings %+v, %v", kept, err)
	}
	out, err := cellar(t, "bench", "groundtruth", "--csv", gt, "--seeds", "2")
	if err != nil || !strings.Contains(out, "10 archs in "+gt+": mnist, 2 channels, 1 cell(s) a stage, 512 training examples x 1 epochs, scored on 128 held out") {
		t.Fatalf("continued with the flags left out: %v\n%s", err, out)
	}
	before, _ := os.ReadFile(gt)
	if _, err := cellar(t, "bench", "groundtruth", "--csv", gt, "--seeds", "3", "--train", "1024", "--n", "12"); err == nil ||
		!strings.Contains(err.Error(), gt+" was trained otherwise ("+settings+"): --train 1024 (the table's: 512), --n 12 (the table's: 10)") {
		t.Errorf("other flags: %v", err)
	}
	if after, _ := os.ReadFile(gt); !bytes.Equal(after, before) {
		t.Error("a refused run changed the table")
	}
	// bench darts trains the derived cells with the table's settings and seeds (its CSV
	// says which), and refuses other ones.
	t.Run("darts trains as the table", func(t *testing.T) {
		testkit.Long(t, "runs DARTS and trains its cell with two seeds")
		darts := filepath.Join(dir, "darts.csv")
		if out, err := cellar(t, "bench", "darts", "--groundtruth", gt, "--seeds", "1", "--epochs", "1", "--darts-train", "128", "--darts-val", "128", "--csv", darts); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if b, _ := os.ReadFile(darts); !strings.Contains(string(b), "\n1,darts,1,1,128,128,,mnist,512,2,1,1,2,|") {
			t.Errorf("bench darts did not train as the table was:\n%s", b)
		}
	})
	if _, err := cellar(t, "bench", "darts", "--groundtruth", gt, "--seeds", "1", "--epochs", "1", "--train-epochs", "2"); err == nil ||
		!strings.Contains(err.Error(), "--train-epochs 2 (the table's: 1)") {
		t.Errorf("darts with other flags: %v", err)
	}
	// bench oneshot says where its supernet is not trained as the table was.
	out, err = cellar(t, "bench", "oneshot", "--groundtruth", gt, "--train", "256", "--score-size", "64", "--recalibrate", "2", "--epochs", "1")
	if err != nil || !strings.Contains(out, "\nnot like for like: "+gt+" was trained otherwise ("+settings+"): --train 256 (the table's: 512)\n") {
		t.Errorf("oneshot on other data: %v\n%s", err, out)
	}
	if out, err = cellar(t, "bench", "oneshot", "--groundtruth", gt, "--score-size", "64", "--recalibrate", "2", "--epochs", "1"); err != nil || strings.Contains(out, "like for like") {
		t.Errorf("oneshot as the table: %v\n%s", err, out)
	}
	// A table from before settings were kept: continued with a warning, and kept from then on.
	os.Remove(settings)
	out, err = cellar(t, "bench", "groundtruth", "--csv", gt, "--seeds", "2", "--dataset", "mnist", "--train", "512", "--val", "128", "--epochs", "1", "--channels", "2", "--n", "10")
	if err != nil || !strings.Contains(out, "warning: "+gt+" has no settings file ("+settings+"): going on with the flags given") {
		t.Fatalf("%v\n%s", err, out)
	}
	if again, err := groundtruth.LoadSettings(gt); err != nil || again == nil || *again != *kept {
		t.Errorf("settings written for the old table: %+v, %v; want %+v", again, err, kept)
	}
	// A damaged settings file is named, not ignored.
	os.WriteFile(settings, []byte("{\"dataset\": "), 0o644)
	for _, args := range [][]string{{"bench", "groundtruth", "--csv", gt}, {"bench", "darts", "--groundtruth", gt}, {"bench", "oneshot", "--groundtruth", gt}} {
		if _, err := cellar(t, args...); err == nil || !strings.Contains(err.Error(), settings+": not the settings of a ground truth") {
			t.Errorf("%s with a damaged settings file: %v", args[1], err)
		}
	}
}

// matchTable gives the flags left out the table's values and lists the ones given
// otherwise; a setting no flag sets takes the table's.
func TestMatchTable(t *testing.T) {
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	var (
		train, epochs, batch int
		dataset              string
		lr                   float64
	)
	cmd.Flags().IntVar(&train, "train", 10000, "")
	cmd.Flags().IntVar(&epochs, "epochs", 4, "")
	cmd.Flags().StringVar(&dataset, "dataset", "mnist", "")
	cmd.Flags().Float64Var(&lr, "lr", 0.05, "")
	if err := cmd.ParseFlags([]string{"--epochs", "3", "--lr", "0.1"}); err != nil {
		t.Fatal(err)
	}
	differ := matchTable(cmd, []tableFlag{bind("train", &train, 30000), bind("epochs", &epochs, 3), bind("dataset", &dataset, "fashion-mnist"),
		bind("lr", &lr, 0.05), bind("", &batch, 64), bind("val", &batch, 64)})
	if train != 30000 || dataset != "fashion-mnist" || epochs != 3 || lr != 0.1 || batch != 64 {
		t.Errorf("train %d, dataset %s, epochs %d, lr %v, batch %d", train, dataset, epochs, lr, batch)
	}
	if !slices.Equal(differ, []string{"--lr 0.1 (the table's: 0.05)"}) {
		t.Errorf("differ: %q", differ)
	}
}

// A table holding archs that compute the same function says so, with how far apart
// their means are, after the seeds' agreement; a table without any says nothing.
func TestBenchGroundTruthSameFunction(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "gt.csv")
	// The first two differ only in node 2, which cannot reach the output.
	table := `arch,reference,accuracy,params,seed1,seed2
|skip_connect~0|+|skip_connect~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|,80,88.5,1000,88.6,88.4
|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|none~2|,81,88.25,1000,88.1,88.4
|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|,90,89.5,2000,89.4,89.6
`
	if err := os.WriteFile(csvPath, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"bench", "groundtruth", "--csv", csvPath, "--n", "3", "--dataset", "mnist", "--train", "512", "--val", "128", "--epochs", "1", "--channels", "2"}
	out, err := cellar(t, args...)
	if err != nil || !strings.Contains(out, "2 archs in 1 group compute the same function") || !strings.Contains(out, "differ by up to 0.25 points") {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Index(out, "same function") < strings.Index(out, "seed 1 against seed 2") {
		t.Errorf("the same-function line comes before the agreement:\n%s", out)
	}
	other := strings.Replace(table, "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|none~2|", "|skip_connect~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_3x3~1|none~2|", 1)
	if err := os.WriteFile(csvPath, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := cellar(t, args...); err != nil || strings.Contains(out, "same function") {
		t.Errorf("no two archs of one function: %v\n%s", err, out)
	}
}
