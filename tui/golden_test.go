package tui

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"cellar/engine"
	"cellar/internal/enginetest"
	"cellar/themes"
)

// Screens as golden files (testdata/*.golden), at fixed sizes, colour off, after a
// seeded search has finished so that nothing depends on timing. Regenerate with
// go test ./tui -run Golden -update.

func finishedSearch(t *testing.T) (*engine.Engine, *engine.Experiment) {
	t.Helper()
	src := "name: golden\nseed: 7\nspace: nb201\nstrategy: {name: regevo, population: 10, sample: 3}\nevaluator: params\n" +
		"objectives: [{name: params, direction: min}, {name: flops, direction: min}]\nbudget: {trials: 40}\n"
	exp := enginetest.Build(t, src)
	return engine.New(exp, engine.Options{}), exp
}

// step sends a key (none for the first step) and waits until the screen shows want.
type step struct {
	key  string
	want string
}

// runScreen runs the real program at a size through the steps and returns the final
// screen.
func runScreen(t *testing.T, m tea.Model, w, h int, steps ...step) []byte {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	for _, s := range steps {
		if s.key != "" {
			tm.Send(keyMsg(s.key))
		}
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s.want)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	return []byte(final.View())
}

func TestGoldenDashboard(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 60}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			eng, exp := finishedSearch(t)
			m := New(eng, exp, themes.Dark, plain())
			if err := eng.Run(context.Background()); err != nil { // the model's subscription drains the events
				t.Fatal(err)
			}
			teatest.RequireEqualOutput(t, runScreen(t, m, size[0], size[1], step{want: "FINISHED"}))
		})
	}
}

func TestGoldenHelp(t *testing.T) {
	eng, exp := finishedSearch(t)
	m := New(eng, exp, themes.Light, plain())
	if err := eng.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	teatest.RequireEqualOutput(t, runScreen(t, m, 80, 24, step{want: "FINISHED"}, step{"?", "cancelling"}))
}

func TestGoldenEditor(t *testing.T) {
	eng, exp := finishedSearch(t)
	m := New(eng, exp, themes.Dark, plain())
	if err := eng.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Open the newest trial, change its first op, then make the first input invalid.
	teatest.RequireEqualOutput(t, runScreen(t, m, 100, 30, step{want: "FINISHED"}, step{"e", "Edit (from trial"},
		step{"k", "valid:"}, step{"l", "~["}, step{"k", "invalid:"}))
}

func TestGoldenBrowser(t *testing.T) {
	path := searchedDB(t)
	t.Run("trials", func(t *testing.T) {
		teatest.RequireEqualOutput(t, runScreen(t, NewBrowser(path, themes.Dark, plain()), 100, 30,
			step{want: "Experiments (1)"}, step{"enter", "30 of 30 trials"}, step{"s", "sort by flops"}))
	})
	t.Run("detail", func(t *testing.T) {
		teatest.RequireEqualOutput(t, runScreen(t, NewBrowser(path, themes.Dark, plain()), 100, 30,
			step{want: "Experiments (1)"}, step{"enter", "30 of 30 trials"}, step{"j", "› 2 "}, step{"j", "› 3 "}, step{"enter", "Lineage"}))
	})
}
