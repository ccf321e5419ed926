package tui

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
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
	// On a simulated clock that charges each trial next to nothing, so that the
	// header's elapsed time reads 0s however long a loaded machine takes to run it.
	return engine.New(exp, engine.Options{Simulate: &engine.SimTime{Epochs: 1, Samples: 1, Rate: 1e30}}), exp
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
	if err := tm.Quit(); err != nil { // q would go back from a screen over the dashboard
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	return []byte(final.View())
}

// sizes are the terminal sizes every screen is drawn at: small, usual and large.
var sizes = [][2]int{{60, 20}, {80, 24}, {200, 60}}

// checkFits fails when a screen has a line wider than the terminal, more lines than
// it, or a first line that lost the search's state and trial count.
func checkFits(t *testing.T, screen []byte, w, h int, header ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(screen), "\n"), "\n")
	if len(lines) > h {
		t.Errorf("%d lines on a %dx%d screen", len(lines), w, h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d columns wide on a %dx%d screen: %q", i+1, lw, w, h, l)
		}
	}
	for _, want := range header {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the first line lost %q at %dx%d: %q", want, w, h, lines[0])
		}
	}
}

// Every screen at every size, as a golden file, fitting the screen with its header
// whole.
func TestGoldenScreens(t *testing.T) {
	screens := []struct {
		name  string
		steps []step
	}{
		{"dashboard", nil},
		{"help", []step{{"?", "cancelling"}}},
		// The newest trial, its first op changed, the cursor on to the next op
		// (past the fixed input), then the arch typed.
		{"editor", []step{{"e", "Edit (from trial"}, {"k", "valid:"}, {"l", "|+|["}}},
		{"editor-typing", []step{{"e", "Edit (from trial"}, {"i", "arch: "}}},
		{"steer", []step{{"s", "Steer the search"}, {"j", "›"}}},
	}
	for _, sc := range screens {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				eng, exp := finishedSearch(t)
				m := New(eng, exp, themes.Dark, plain())
				if err := eng.Run(context.Background()); err != nil { // the model's subscription drains the events
					t.Fatal(err)
				}
				out := runScreen(t, m, size[0], size[1], append([]step{{want: "FINISHED"}}, sc.steps...)...)
				checkFits(t, out, size[0], size[1], "FINISHED", "40/40 trials")
				teatest.RequireEqualOutput(t, out)
			})
		}
	}
}

func TestGoldenBrowser(t *testing.T) {
	path := searchedDB(t)
	t.Run("trials", func(t *testing.T) {
		teatest.RequireEqualOutput(t, runScreen(t, NewBrowser(path, themes.Dark, plain()), 100, 30,
			step{want: "Experiments (1)"}, step{"enter", "30 of 30 trials"}, step{"s", "sort by flops"}))
	})
	for _, size := range sizes {
		t.Run(fmt.Sprintf("trials/%dx%d", size[0], size[1]), func(t *testing.T) {
			out := runScreen(t, NewBrowser(path, themes.Dark, plain()), size[0], size[1],
				step{want: "Experiments (1)"}, step{"enter", "30 of 30 trials"}, step{"s", "sort by"})
			checkFits(t, out, size[0], size[1], "cellar browse")
			teatest.RequireEqualOutput(t, out)
		})
	}
	t.Run("detail", func(t *testing.T) {
		teatest.RequireEqualOutput(t, runScreen(t, NewBrowser(path, themes.Dark, plain()), 100, 30,
			step{want: "Experiments (1)"}, step{"enter", "30 of 30 trials"}, step{"j", "› 2 "}, step{"j", "› 3 "}, step{"enter", "Lineage"}))
	})
}
