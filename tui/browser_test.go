package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	bolt "go.etcd.io/bbolt"

	"cellar/engine"
	"cellar/internal/damage"
	"cellar/internal/enginetest"
	"cellar/storage"
	"cellar/themes"
)

// searchedDB runs a real 30-trial search into a fresh DB file and returns its path.
func searchedDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.db")
	db, err := storage.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	src := "name: browsed\nseed: 2\nspace: nb201\nstrategy: {name: regevo, population: 10, sample: 3}\nevaluator: params\nbudget: {trials: 30}\n"
	exp := enginetest.Build(t, src)
	x, _ := db.CreateExperiment(exp.Config.Name, []byte(src))
	if err := engine.New(exp, engine.Options{Store: x}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

// drive runs browser commands to their messages and feeds them back, until none is
// left or the browser waits to retry (its tick is not waited out).
func drive(b *Browser, cmd tea.Cmd) {
	for cmd != nil {
		_, cmd = b.Update(cmd())
		if b.retry {
			return
		}
	}
}

func keyTo(b *Browser, k string) { drive(b, func() tea.Msg { return keyMsg(k) }) }

func TestBrowserListsOpensSortsFiltersAndShowsLineage(t *testing.T) {
	path := searchedDB(t)
	b := NewBrowser(path, themes.Dark, plain())
	b.Update(tea.WindowSizeMsg{Width: 100, Height: 40})
	drive(b, b.Init())
	if v := b.View(); !strings.Contains(v, "browsed") || !strings.Contains(v, "30 trials") || !strings.Contains(v, "finished") {
		t.Fatalf("experiment list:\n%s", v)
	}
	keyTo(b, "enter")
	if b.exp == nil || len(b.rows) != 30 {
		t.Fatalf("opened experiment: %+v", b.exp)
	}
	keyTo(b, "s") // by objective: with none in the config, the one the search took (the params evaluator's first metric), minimised
	obj := b.exp.obj
	if obj.Name != "params" || obj.Maximise() {
		t.Fatalf("objective %+v", obj)
	}
	for i := 1; i < len(b.rows); i++ {
		if b.rows[i].Metrics[obj.Name] < b.rows[i-1].Metrics[obj.Name] {
			t.Fatalf("not sorted by %s at row %d", obj.Name, i)
		}
	}
	keyTo(b, "f") // done only
	if len(b.rows) != 30 || !strings.Contains(b.View(), "show done") {
		t.Errorf("done filter: %d rows", len(b.rows))
	}
	keyTo(b, "f") // failed only
	if len(b.rows) != 0 {
		t.Errorf("failed filter: %d rows", len(b.rows))
	}
	keyTo(b, "f")
	keyTo(b, "f") // back to all
	for b.sortKeys()[b.sortBy] != "id" {
		keyTo(b, "s")
	}
	// A filter expression on a metric and the origin.
	typeFilter(b, "params<200000 origin=regevo")
	for _, r := range b.rows {
		if r.Metrics["params"] >= 200000 || r.Origin != "regevo" {
			t.Fatalf("row %+v passes the filter", r)
		}
	}
	if len(b.rows) == 0 || len(b.rows) == 30 || !strings.Contains(b.View(), "filter: params<200000") {
		t.Fatalf("%d rows after the filter:\n%s", len(b.rows), b.View())
	}
	n := len(b.rows)
	typeFilter(b, "params>>3")
	if len(b.rows) != n || !strings.Contains(b.View(), "filter not applied") {
		t.Errorf("a bad filter: %d rows\n%s", len(b.rows), b.View())
	}
	typeFilter(b, "")
	if len(b.rows) != 30 {
		t.Fatalf("cleared filter: %d rows", len(b.rows))
	}
	for b.cursor < 29 {
		keyTo(b, "j")
	}
	keyTo(b, "enter") // trial 30: a mutation, with a parent
	v := b.View()
	if b.detail == nil || b.detail.ID != 30 || b.detail.Parent == 0 || !strings.Contains(v, "Lineage") || !strings.Contains(v, fmt.Sprintf("← %d ", b.detail.Parent)) || !strings.Contains(v, "[3]") {
		t.Fatalf("detail of trial 30:\n%s", v)
	}
	keyTo(b, "esc")
	keyTo(b, "esc")
	if b.exp != nil || !strings.Contains(b.View(), "Experiments (1)") {
		t.Errorf("esc esc did not return to the experiment list")
	}
}

// A trial with a ten-epoch curve shows loss and accuracy charts, and its detail
// scrolls when it is taller than the screen.
func TestBrowserDetailChartsAndScrolls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	db, err := storage.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := db.CreateExperiment("curves", []byte("name: curves\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 1}\n"))
	tr := engine.Trial{ID: 1, Arch: "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
		Origin: "random", State: engine.Done, Metrics: map[string]float64{"val_accuracy": 97}}
	for e := 1; e <= 10; e++ {
		tr.Curve = append(tr.Curve, engine.CurvePoint{Epoch: float64(e), Metrics: map[string]float64{
			"train_loss": 2 / float64(e), "train_accuracy": 90 + float64(e) - 1, "val_accuracy": 89 + float64(e)*0.8}})
	}
	if err := x.Commit([]engine.Trial{tr}, engine.Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b := NewBrowser(path, themes.Dark, plain())
	b.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	drive(b, b.Init())
	keyTo(b, "enter")
	keyTo(b, "enter")
	full := b.detailView(*b.detail)
	for _, want := range []string{"Loss", "━ train_loss", "Accuracy", "━ val_accuracy", "epoch 10"} {
		if !strings.Contains(full, want) {
			t.Errorf("detail lacks %q:\n%s", want, full)
		}
	}
	if !strings.ContainsAny(full, "⠁⠂⠄⡀⢀⠈⠐⠠") {
		t.Errorf("no braille line in the charts:\n%s", full)
	}
	first := b.View()
	if strings.Count(first, "\n") != 23 || strings.Contains(first, "Lineage") {
		t.Fatalf("detail is not one screen of 24 lines from the top:\n%s", first)
	}
	for range 40 {
		keyTo(b, "down")
	}
	if v := b.View(); !strings.Contains(v, "Lineage") || !strings.Contains(v, "100%") {
		t.Errorf("scrolled to the end, the lineage is not shown:\n%s", v)
	}
}

func TestBrowserErrorScreens(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "text.db")
	os.WriteFile(notDB, []byte("this is not a database, just some text that is long enough\n"), 0o600)
	future := filepath.Join(dir, "future.db")
	db, _ := storage.Open(future, time.Second)
	db.Close()
	other := filepath.Join(dir, "other.db")
	bo, err := bolt.Open(other, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	bo.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("meta"))
		meta.Put([]byte("app"), []byte("cellar"))
		return meta.Put([]byte("schema"), []byte("99"))
	})
	bo.Close()
	for _, tc := range []struct{ path, say string }{
		{notDB, "not a bbolt file"},
		{filepath.Join(dir, "missing.db"), "no such file"},
		{other, "schema version 99"},
	} {
		b := NewBrowser(tc.path, themes.Dark, plain())
		drive(b, b.Init())
		if v := b.View(); !strings.Contains(v, "cannot open") || !strings.Contains(v, tc.say) {
			t.Errorf("%s:\n%s", tc.path, v)
		}
	}
	// A DB another process (here: this one) is writing: the browser says so and retries.
	held, err := storage.Open(future, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBrowser(future, themes.Dark, plain())
	drive(b, b.Init())
	if v := b.View(); !strings.Contains(v, "in use") || !strings.Contains(v, "trying again") {
		t.Errorf("locked DB:\n%s", v)
	}
	held.Close()
	_, cmd := b.Update(retryMsg{})
	b.Update(cmd())
	if v := b.View(); !strings.Contains(v, "Experiments (0)") {
		t.Errorf("after the writer closed:\n%s", v)
	}
}

// typeFilter types a filter expression after / and applies it.
func typeFilter(b *Browser, expr string) {
	keyTo(b, "/")
	for b.input != "" {
		drive(b, func() tea.Msg { return tea.KeyMsg{Type: tea.KeyBackspace} })
	}
	for _, r := range expr {
		drive(b, func() tea.Msg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}} })
	}
	drive(b, func() tea.Msg { return tea.KeyMsg{Type: tea.KeyEnter} })
}

// An experiment opens on its first chunk of trials while the rest load in chunks;
// the rows stay sorted and filtered as chunks arrive, the same as a single read; a
// chunk of an experiment the user has left is dropped; a held file is retried.
func TestBrowserLoadsInChunks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chunks.db")
	db, err := storage.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := db.CreateExperiment("chunks", []byte("name: chunks\nspace: nb201\nstrategy: random\nevaluator: params\nbudget: {trials: 2345}\n"))
	all := manyTrials(2345)
	for i := range all {
		if i%7 == 0 {
			all[i].State, all[i].Metrics = engine.Failed, nil
		}
	}
	if err := x.Commit(all, engine.Checkpoint{}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	b := NewBrowser(path, themes.Dark, plain())
	b.firstChunk, b.laterChunk = 100, 400
	b.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	drive(b, b.Init())
	keyTo(b, "s") // sort the experiment list: no effect there
	// Open the experiment and take only the first message: the first screen.
	_, cmd := b.Update(keyMsg("enter"))
	_, cmd = b.Update(cmd())
	if b.exp == nil || len(b.rows) != 100 || cmd == nil || !strings.Contains(b.View(), "reading trials: 100 of 2345") {
		t.Fatalf("first screen: %d rows\n%s", len(b.rows), b.View())
	}
	// Sort by flops and filter while chunks arrive.
	for b.sortKeys()[b.sortBy] != "flops" {
		b.Update(keyMsg("s"))
	}
	typeFilter(b, "params<1000000")
	drive(b, cmd)
	if !b.exp.loaded || len(b.exp.trials) != 2345 || strings.Contains(b.View(), "reading trials") {
		t.Fatalf("after all chunks: loaded %v, %d trials\n%s", b.exp.loaded, len(b.exp.trials), b.View())
	}
	chunked := append([]engine.Trial(nil), b.rows...)
	b.refresh() // one read's order
	if len(chunked) != len(b.rows) || len(chunked) == 0 {
		t.Fatalf("%d rows from chunks, %d from one refresh", len(chunked), len(b.rows))
	}
	for i := range chunked {
		if chunked[i].ID != b.rows[i].ID {
			t.Fatalf("row %d: trial %d from chunks, %d from one refresh", i, chunked[i].ID, b.rows[i].ID)
		}
		if chunked[i].Metrics["params"] >= 1000000 || chunked[i].State == engine.Failed {
			t.Fatalf("row %d lets through %+v", i, chunked[i])
		}
	}
	// Leave the experiment with a chunk on its way: it is dropped.
	keyTo(b, "esc")
	_, cmd = b.Update(keyMsg("enter"))
	_, more := b.Update(cmd())
	keyTo(b, "esc")
	if _, next := b.Update(more()); next != nil || b.exp != nil {
		t.Errorf("a chunk of a closed experiment was taken in")
	}
	// A search holding the file: the chunk is retried, and the screen says so.
	_, cmd = b.Update(keyMsg("enter"))
	_, more = b.Update(cmd())
	held, err := storage.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, retry := b.Update(more())
	if retry == nil || !strings.Contains(b.View(), "trying again") {
		t.Errorf("held file while reading chunks:\n%s", b.View())
	}
	held.Close()
	drive(b, b.more())
	if !b.exp.loaded || len(b.exp.trials) != 2345 {
		t.Errorf("after the retry: %d trials", len(b.exp.trials))
	}
}

func TestBrowserShowsDamageWithWhatToRun(t *testing.T) {
	base := searchedDB(t)
	for i, d := range damage.Corpus(t, base) {
		dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
		os.Mkdir(dir, 0o700)
		path := d.Make(t, dir)
		b := NewBrowser(path, themes.Dark, plain())
		drive(b, b.Init()) // a panic here fails the test: the browser never crashes
		v := b.View()
		if !d.Pages {
			continue // byte flips may miss every page header; a read-only file opens
		}
		if !strings.Contains(v, "cannot open") {
			t.Errorf("%s: the browser does not say it cannot open the file:\n%s", d.Name, v)
		}
		if strings.Contains(v, "damaged") && !strings.Contains(strings.Join(strings.Fields(v), " "), "cellar check") {
			t.Errorf("%s: the error does not say what to run:\n%s", d.Name, v)
		}
	}
}

// isQuit says whether cmd ends the program.
func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

// In the browser opened from a session, q goes back (a filter takes it as a letter);
// it never quits the program, which over SSH would end the session. On the
// dashboard, quitting a local search that runs asks first.
func TestQInTheBrowserGoesBack(t *testing.T) {
	path := searchedDB(t)
	db, err := storage.OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng, exp := newSearch(t, 5, 0)
	m := NewSession(eng, exp, themes.Light, plain(), SessionOptions{DB: db})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	key := func(k string) tea.Cmd {
		_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		return cmd
	}
	if cmd := key("b"); cmd != nil {
		m.Update(cmd()) // the experiments' list
	}
	if m.browser == nil {
		t.Fatal("b opened no browser")
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd := m.browser.load(m.browser.exps[0]); cmd != nil {
		m.Update(cmd())
	}
	key("/")
	key("q")
	if !strings.Contains(m.browser.input, "q") {
		t.Errorf("a filter being typed did not take q: %q", m.browser.input)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEsc}) // leave the filter
	if isQuit(key("q")) || m.browser == nil || m.browser.exp != nil {
		t.Fatal("q in an experiment did not go back to the list")
	}
	cmd := key("q")
	if isQuit(cmd) || cmd == nil {
		t.Fatal("q on the list did not go back to the dashboard")
	}
	if m.Update(cmd()); m.browser != nil || m.page != pageDashboard {
		t.Fatal("q on the list did not go back to the dashboard")
	}
	// The dashboard of a running local search: q asks, q again quits.
	m.dashboard.status.State = engine.Searching
	if isQuit(key("q")) || !strings.Contains(m.View(), "press q again to quit") {
		t.Fatalf("the first q quit a running search without asking:\n%s", m.View())
	}
	if !isQuit(key("q")) {
		t.Error("the second q did not quit")
	}
}

// A rejected filter says why and keeps the active one in sight; ctrl+u clears what is
// being typed.
func TestRejectedFilterKeepsTheActiveOne(t *testing.T) {
	b := NewBrowser(searchedDB(t), themes.Light, plain())
	b.Update(tea.WindowSizeMsg{Width: 160, Height: 30})
	b.Update(b.Init()())
	b.Update(b.load(b.exps[0])())
	typeIn := func(s string) {
		for _, r := range s {
			b.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
	typeIn("/")
	typeIn("params > 0")
	b.key(tea.KeyMsg{Type: tea.KeyEnter})
	if b.exprErr != nil || b.expr != "params > 0" {
		t.Fatalf("filter %q: %v", b.expr, b.exprErr)
	}
	typeIn("/")
	b.key(tea.KeyMsg{Type: tea.KeyCtrlU})
	if b.input != "" {
		t.Errorf("ctrl+u left %q", b.input)
	}
	typeIn("val_acc>50")
	b.key(tea.KeyMsg{Type: tea.KeyEnter})
	v := b.View()
	if !strings.Contains(v, "filter not applied: \"val_acc>50\": no field val_acc") || !strings.Contains(v, "filter: params > 0") {
		t.Errorf("after a rejected filter:\n%s", v)
	}
}

// The browser pages through a long list: pgdn/pgup a page, ctrl+d/ctrl+u half of one,
// home/g and end/G the ends.
func TestBrowserPages(t *testing.T) {
	b := NewBrowser(searchedDB(t), themes.Light, plain())
	b.Update(tea.WindowSizeMsg{Width: 160, Height: 18}) // a page of 10 rows
	b.Update(b.Init()())
	b.Update(b.load(b.exps[0])())
	n := b.count()
	for _, c := range []struct {
		key  tea.KeyMsg
		want int
	}{
		{tea.KeyMsg{Type: tea.KeyPgDown}, 10},
		{tea.KeyMsg{Type: tea.KeyCtrlD}, 15},
		{tea.KeyMsg{Type: tea.KeyCtrlU}, 10},
		{tea.KeyMsg{Type: tea.KeyPgUp}, 0},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("G")}, n - 1},
		{tea.KeyMsg{Type: tea.KeyPgDown}, n - 1},
		{tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("g")}, 0},
		{tea.KeyMsg{Type: tea.KeyEnd}, n - 1},
		{tea.KeyMsg{Type: tea.KeyHome}, 0},
	} {
		b.key(c.key)
		if b.cursor != c.want {
			t.Errorf("%s: row %d, want %d (of %d)", c.key, b.cursor, c.want, n)
		}
	}
}

// Keys that arrive together (a held key, or several sent in one write: one message of
// several runes) move as that many presses; once they open the filter, the rest is
// typed into it; a paste stays text.
func TestABurstOfKeysIsThatManyPresses(t *testing.T) {
	b := NewBrowser(searchedDB(t), themes.Light, plain())
	b.Update(tea.WindowSizeMsg{Width: 160, Height: 40})
	b.Update(b.Init()())
	b.Update(b.load(b.exps[0])())
	b.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jjj")})
	if b.cursor != 3 {
		t.Fatalf("jjj in one message: row %d, want 3", b.cursor)
	}
	b.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jk")})
	if b.cursor != 3 {
		t.Errorf("jk: row %d, want 3", b.cursor)
	}
	b.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/state")})
	if !b.typing || b.input != "state" {
		t.Errorf("/state in one message: typing %v, filter %q", b.typing, b.input)
	}
	b.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("=done"), Paste: true})
	if b.input != "state=done" {
		t.Errorf("a paste into the filter: %q", b.input)
	}
}

// Sorting follows one rule (best first: sizes and times smallest first), S reverses
// it, and the sorted metric always has a column.
func TestBrowserSortsOneWayAndReverses(t *testing.T) {
	b := NewBrowser(searchedDB(t), themes.Light, plain())
	b.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
	b.Update(b.Init()())
	b.Update(b.load(b.exps[0])())
	for b.sortKey() != "params" {
		b.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
	}
	ascending := func() bool {
		for i := 1; i < len(b.rows); i++ {
			if b.rows[i-1].Metrics["params"] > b.rows[i].Metrics["params"] {
				return false
			}
		}
		return true
	}
	if !ascending() {
		t.Error("params are not smallest first")
	}
	if v := b.View(); !strings.Contains(v, "params") || !strings.Contains(v, "sort by params") {
		t.Errorf("the sorted column is not shown:\n%s", v)
	}
	b.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("S")})
	if ascending() || !strings.Contains(b.View(), "sort by params, reversed") {
		t.Error("S did not reverse the sort")
	}
	for b.sortKey() != "seconds" {
		b.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("s")})
	}
	for i := 1; i < len(b.rows); i++ {
		if b.rows[i-1].Duration() > b.rows[i].Duration() {
			t.Fatalf("seconds are not shortest first, as train_seconds are: %v before %v", b.rows[i-1].Duration(), b.rows[i].Duration())
		}
	}
}

// ? in cellar browse shows every key of the screen (the bar leads with it, so it is
// never cut), and the page still fits the terminal; ? again hides them.
func TestBrowserQuestionMarkShowsItsFullHelp(t *testing.T) {
	b := NewBrowser(searchedDB(t), themes.Light, plain())
	b.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	drive(b, b.Init())
	keyTo(b, "enter")
	last := func() string { lines := strings.Split(b.View(), "\n"); return lines[len(lines)-1] }
	if !strings.HasPrefix(last(), "? help") {
		t.Errorf("the help bar does not lead with ?: %q", last())
	}
	keyTo(b, "?")
	v := b.View()
	for _, want := range []string{"/ filter", "home/g first", "end/G last", "r reload", "f show all/done/failed/hand", "pgdn page down"} {
		if !strings.Contains(v, want) {
			t.Errorf("the full help lacks %q:\n%s", want, v)
		}
	}
	if n := strings.Count(v, "\n") + 1; n > 24 {
		t.Errorf("with the full help the page is %d lines on a 24-line screen", n)
	}
	keyTo(b, "?")
	if strings.Contains(b.View(), "home/g first") {
		t.Error("? again left the full help up")
	}
}

// f cycles all, done, failed, hand and, with two objectives, the Pareto front: the
// trials the search's checkpoint keeps on it.
func TestBrowserShowsTheFront(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mo.db")
	db, err := storage.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	src := "name: mo\nseed: 3\nspace: nb201\nstrategy: {name: nsga2, population: 8}\nevaluator: params\n" +
		"objectives: [{name: params, direction: min}, {name: flops, direction: max}]\nbudget: {trials: 40}\n"
	exp := enginetest.Build(t, src)
	x, _ := db.CreateExperiment(exp.Config.Name, []byte(src))
	if err := engine.New(exp, engine.Options{Store: x}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	cp, _ := x.Checkpoint()
	db.Close()
	b := NewBrowser(path, themes.Light, plain())
	b.Update(tea.WindowSizeMsg{Width: 160, Height: 60})
	drive(b, b.Init())
	keyTo(b, "enter")
	for range 4 {
		keyTo(b, "f")
	}
	if !strings.Contains(b.View(), "show front") {
		t.Fatalf("after four f:\n%s", b.View())
	}
	var shown []uint64
	for _, r := range b.rows {
		shown = append(shown, r.ID)
	}
	slices.Sort(shown)
	if len(shown) == 0 || !slices.Equal(shown, cp.Front) {
		t.Errorf("the front shows trials %v; the checkpoint's front is %v", shown, cp.Front)
	}
	keyTo(b, "f")
	if !strings.Contains(b.View(), "show all") {
		t.Errorf("f after the front goes back to all:\n%s", b.View())
	}
}
