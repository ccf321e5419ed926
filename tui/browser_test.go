package tui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	bolt "go.etcd.io/bbolt"

	"cellar/engine"
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
	src := "name: browsed\nseed: 2\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: 30}\n"
	cfg, _ := engine.ParseConfig([]byte(src))
	exp, err := engine.Build(cfg, []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := db.CreateExperiment(cfg.Name, []byte(src))
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
	keyTo(b, "s") // by objective: with none in the config, flops (first by name), minimised
	obj := b.exp.obj
	if obj.Name != "flops" || obj.Maximise() {
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
	keyTo(b, "enter") // trial 30: regevo's, with a parent
	v := b.View()
	if b.detail == nil || b.detail.ID != 30 || !strings.Contains(v, "Lineage") || !strings.Contains(v, "← ") || !strings.Contains(v, "node 3 ←") {
		t.Fatalf("detail of trial 30:\n%s", v)
	}
	keyTo(b, "esc")
	keyTo(b, "esc")
	if b.exp != nil || !strings.Contains(b.View(), "Experiments (1)") {
		t.Errorf("esc esc did not return to the experiment list")
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
