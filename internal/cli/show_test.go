package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"cellar/internal/testtable"
)

// show without a trial shows the experiment's best one: the trial the search's own
// summary named, the highest test_accuracy with ties to the lowest id.
func TestShowWithoutTrialShowsTheBest(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	exp := writeExp(t, fmt.Sprintf("name: best\nseed: 3\nspace: nb201\nstrategy: regevo\nevaluator: {name: table, path: %s}\nbudget: {trials: 25}\n", table))
	db := filepath.Join(t.TempDir(), "s.db")
	out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`best: trial (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no best in the summary:\n%s", out)
	}
	d, x, err := openExperiment(db, "")
	if err != nil {
		t.Fatal(err)
	}
	trials, _ := x.Trials()
	d.Close()
	var bestID uint64
	bestV := -1.0
	for _, tr := range trials {
		if v := tr.Metrics["test_accuracy"]; v > bestV {
			bestID, bestV = tr.ID, v
		}
	}
	if fmt.Sprint(bestID) != m[1] {
		t.Fatalf("the summary names trial %s, the table's best is %d", m[1], bestID)
	}
	out, err = cellar(t, "show", "--db", db)
	if err != nil || !strings.HasPrefix(out, fmt.Sprintf("trial %d of experiment 1, its best\n", bestID)) {
		t.Errorf("show without a trial: %v\n%s", err, out)
	}
	// An experiment with nothing done yet says so: its one trial's arch is not in a
	// one-row table.
	one := filepath.Join(t.TempDir(), "one.csv")
	os.WriteFile(one, []byte("arch,test_accuracy\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10\n"), 0o600)
	empty := writeExp(t, "name: none\nseed: 1\nspace: nb201\nstrategy: random\nevaluator: {name: table, path: "+one+"}\nbudget: {trials: 1}\n")
	if out, err := cellar(t, "search", "-c", empty, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := cellar(t, "show", "--db", db); err == nil || !strings.Contains(err.Error(), "no done trial with test_accuracy yet") {
		t.Errorf("show on an experiment with no done trial: %v", err)
	}
}
