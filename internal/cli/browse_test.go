package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"cellar/internal/testkit"
)

// browse takes its DB as --db F, like every other command, or as its argument; both
// at once, when they differ, is an error.
func TestBrowseTakesDBFlagOrArgument(t *testing.T) {
	exp := writeExp(t, "name: looked-at\nseed: 1\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 3}\n")
	db := filepath.Join(t.TempDir(), "b.db")
	if out, err := cellar(t, "search", "-c", exp, "--db", db, "--no-progress"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, args := range [][]string{{"browse", "--db", db}, {"browse", db}} {
		out, keys, done := interactive(t, args...)
		testkit.WaitFor(t, "the experiment list", func() bool { return strings.Contains(out.String(), "looked-at") })
		keys.Write([]byte("q")) // the experiment list: q quits
		if err := <-done; err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if _, err := cellar(t, "browse", "--db", db, "other.db"); err == nil || !strings.Contains(err.Error(), "two databases") {
		t.Errorf("--db and another argument: %v", err)
	}
}

// A mistyped command names the nearest ones.
func TestMistypedCommandSuggests(t *testing.T) {
	for typed, want := range map[string]string{"serch": "did you mean search", "trails": "did you mean trials", "brwse": "did you mean browse"} {
		if _, err := cellar(t, typed); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `unknown command "`+typed+`"`) {
			t.Errorf("cellar %s: %v; want %q", typed, err, want)
		}
	}
	if _, err := cellar(t, "zzz"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("cellar zzz: %v; want no suggestion", err)
	}
}
