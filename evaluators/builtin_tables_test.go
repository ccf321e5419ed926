package evaluators_test

import (
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"

	"cellar/evaluators"
	"cellar/internal/refdata"
	"cellar/spaces"
)

// The built-in NB201 table is the whole benchmark: every arch of the space once, the
// published optimum, and (where the reference CSV is at hand) the same value for
// every arch as that file.
func TestBuiltinNB201Table(t *testing.T) {
	sp, err := spaces.NewNB201(spaces.DefaultNB201)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := evaluators.LoadTable("nb201", sp, "")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 15625 {
		t.Fatalf("%d archs, want 15625", tab.Len())
	}
	best, err := tab.Best("test_accuracy", true)
	if err != nil {
		t.Fatal(err)
	}
	if best != 94.3733 {
		t.Errorf("best test_accuracy %v, want the published 94.3733", best)
	}
	path := refdata.Find(refdata.NB201CIFAR10)
	if path == "" {
		t.Logf("%s not found beside the repository: checked the built-in table on its own", refdata.NB201CIFAR10)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows[1:] {
		a, err := sp.Parse([]byte(r[0]))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseFloat(r[1], 64)
		got, ok := tab.Lookup(a)
		if !ok || got["test_accuracy"] != want {
			t.Fatalf("%s: built in %v (found %v), reference %v", r[0], got["test_accuracy"], ok, want)
		}
	}
}

// A built-in table is refused for another space, naming both.
func TestBuiltinTableRefusesAnotherSpace(t *testing.T) {
	sp, err := spaces.NewCell(spaces.DefaultCell)
	if err != nil {
		t.Fatal(err)
	}
	_, err = evaluators.LoadTable("nb201", sp, "")
	if err == nil || !strings.Contains(err.Error(), "nb201 archs, not cell") {
		t.Fatalf("err = %v", err)
	}
}
