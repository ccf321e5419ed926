package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"cellar/internal/testkit"
)

// shellWords splits a printed command line as a POSIX shell would the words
// shellQuote writes: plain words, and single-quoted ones (a quote inside is closed,
// escaped with a backslash, and reopened).
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			w.WriteByte(c)
		case c == '\'':
			quoted, inWord = true, true
		case c == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		case c == ' ':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", line)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// hint finds the command a message prints ("cellar ..."), as words without
// "cellar", failing the test when there is none.
func hint(t *testing.T, out, pattern string) []string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no hint matching %s in:\n%s", pattern, out)
	}
	words := shellWords(t, m[1])
	if len(words) == 0 || words[0] != "cellar" {
		t.Fatalf("the hint %q is not a cellar command", m[1])
	}
	return words[1:]
}

// Every resume hint search and tui print is a command that works as printed, in a
// folder whose name needs quoting: it continues the same experiment.
func TestPrintedHintsWorkAsPrinted(t *testing.T) {
	t.Parallel() // waits on child processes and delays more than it computes
	exp := tableExp(t, "slowtable", 40, 2, ", delay: 20ms")
	db := filepath.Join(t.TempDir(), "it's here.db")

	// search, interrupted: "continue with\n  cellar search --db F --resume 1".
	out, _ := interruptSearch(t, exp, db, 3, syscall.SIGINT)
	args := hint(t, out, `continue with\n  (cellar search [^\n]+)`)
	if _, err := cellar(t, args...); err != nil {
		t.Fatalf("the printed %q: %v", args, err)
	}
	if n := evaluated(storedTrials(t, db)); n != 40 {
		t.Errorf("the printed resume ended with %d trials, want the budget's 40", n)
	}

	// search, finished: "raise its budget (cellar search --db F --resume 1 --trials N, ...)".
	out, err := cellar(t, "search", "--db", db, "--resume", "1", "--no-progress")
	if err != nil {
		t.Fatal(err)
	}
	args = hint(t, strings.Replace(out, "--trials N", "--trials 45", 1), `raise its budget \((cellar search [^,]+),`)
	if _, err := cellar(t, args...); err != nil {
		t.Fatalf("the printed %q: %v", args, err)
	}
	if n := evaluated(storedTrials(t, db)); n != 45 {
		t.Errorf("the printed budget raise ended with %d trials, want 45", n)
	}

	// tui, quit: "continue with cellar tui --db F --resume 1"; its own quit prints it again.
	tdb := filepath.Join(t.TempDir(), "tui run.db")
	first := tableExp(t, "slowtable", 100000, 1, ", delay: 20ms")
	out = quitTUI(t, "tui", "-c", first, "--db", tdb)
	args = hint(t, out, `continue with (cellar tui [^\n]+)`)
	before := len(storedTrials(t, tdb))
	out = quitTUI(t, args...)
	if !strings.Contains(out, "experiment 1:") || len(storedTrials(t, tdb)) <= before {
		t.Errorf("the printed %q did not go on with experiment 1 (%d trials before):\n%s", args, before, out)
	}
}

// A hint is printed only where it would do something: a TUI quit after its search
// finished prints none (resuming it says "already finished"), and check calls the
// finished experiment finished, not resumable.
func TestNoHintForAFinishedSearch(t *testing.T) {
	db := filepath.Join(t.TempDir(), "done.db")
	exp := tableExp(t, "table", 5, 1, "")
	out, keys, done := interactive(t, "tui", "-c", exp, "--db", db)
	testkit.WaitFor(t, "the search to finish", func() bool { return strings.Contains(out.String(), "FINISHED") })
	keys.Write([]byte("q"))
	if err := testkit.Receive(t, done, "the TUI to quit"); err != nil {
		t.Fatal(err)
	}
	if text := out.String(); !strings.Contains(text, "experiment 1: finished after 5 trials") || strings.Contains(text, "continue with") {
		t.Errorf("a finished search's hint:\n%s", text[max(0, len(text)-300):])
	}
	report, err := cellar(t, "check", "--db", db)
	if err != nil || !strings.Contains(report, "finished (resume it with a larger budget: --trials N)") || strings.Contains(report, "; resumable") {
		t.Errorf("check of a finished search: %v\n%s", err, report)
	}
}

// quitTUI runs the TUI in this process on a pipe, waits for a trial to finish, and
// quits with q q (the second confirms stopping the search); it returns what was
// printed.
func quitTUI(t *testing.T, args ...string) string {
	t.Helper()
	out, keys, done := interactive(t, args...)
	testkit.WaitFor(t, "a finished trial on the dashboard", func() bool { return strings.Contains(out.String(), "done   regevo") })
	keys.Write([]byte("q"))
	testkit.WaitFor(t, "the quit to be asked", func() bool { return strings.Contains(out.String(), "press q again") })
	keys.Write([]byte("q"))
	if err := <-done; err != nil {
		t.Fatalf("cellar %v: %v\n%s", args, err, out.String())
	}
	return out.String()
}
