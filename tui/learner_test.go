package tui

import (
	"context"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testtable"
	"cellar/pareto"
	"cellar/themes"
)

func learnerSearch(t *testing.T, src string) (*Model, *engine.Engine) {
	t.Helper()
	exp := enginetest.Build(t, src)
	eng := engine.New(exp, engine.Options{})
	m := New(eng, exp, themes.Dark, plain())
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	pump(m)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return m, eng
}

// A DARTS search streams its epochs to the dashboard: the supernet's losses as a
// chart and the alphas as a heatmap with each edge's strongest op.
func TestDashboardShowsDarts(t *testing.T) {
	m, eng := learnerSearch(t, `
name: darts-view
seed: 2
space: nb201
strategy: {name: darts, channels: 2, train: 320, val: 128, epochs: 2}
evaluator: params
budget: {trials: 5}
`)
	view := m.View()
	for _, want := range []string{"darts 2/2", "train_loss", "val_loss", "Alphas", "node1<-0", "node3<-2", "1/5 trials"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	// Each edge's row names the op DARTS derived for it.
	alphas := eng.Snapshot().Reports[1].Alphas
	for i, e := range alphas.Edges {
		best := 0
		for j, v := range alphas.Weights[i] {
			if v > alphas.Weights[i][best] {
				best = j
			}
		}
		if !strings.Contains(view, e+" ") || !strings.Contains(view, shortOp(alphas.Ops[best])) {
			t.Errorf("edge %s (%s) not shown:\n%s", e, alphas.Ops[best], view)
		}
	}
	for _, size := range [][2]int{{80, 24}, {60, 20}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for i, line := range strings.Split(m.View(), "\n") {
			if w := lipgloss.Width(line); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, line)
			}
		}
	}
}

// REINFORCE's controller reports every update: the reward and baseline as a chart, the
// policy's entropy in its title.
func TestDashboardShowsReinforce(t *testing.T) {
	m, _ := learnerSearch(t, `
name: rl-view
seed: 2
space: nb201
strategy: reinforce
evaluator: params
objectives: [{name: params, direction: max}]
budget: {trials: 30}
`)
	view := m.View()
	for _, want := range []string{"reinforce 30", "entropy", "reward", "baseline"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
}

// With three objectives, o steps the Pareto chart through the pairs, each with its own
// front; NSGA-II's hypervolume per generation is the learner chart.
func TestParetoPairs(t *testing.T) {
	table := testtable.NB201(t, testtable.Smooth)
	m, _ := learnerSearch(t, `
name: pairs
seed: 4
space: nb201
strategy: {name: nsga2, population: 10}
evaluator: {name: table, path: `+table+`}
objectives: [{name: test_accuracy, direction: max}, {name: params, direction: min}, {name: flops, direction: min}]
budget: {trials: 50}
`)
	d := m.dashboard
	for _, want := range []string{"Pareto: test_accuracy vs params", "Pareto: test_accuracy vs flops", "Pareto: params vs flops", "Pareto: test_accuracy vs params"} {
		if v := m.View(); !strings.Contains(v, want) {
			t.Fatalf("view lacks %q:\n%s", want, v)
		}
		// The chart's front is the 2-D front of the pair.
		objs := d.exp.Config.Objectives
		var pts [][]float64
		for _, v := range d.objVals {
			pts = append(pts, []float64{v[d.pair[0]], v[d.pair[1]]})
		}
		want := pareto.Front(pts, []bool{objs[d.pair[0]].Maximise(), objs[d.pair[1]].Maximise()})
		got := append([]int(nil), d.front.members...)
		slices.Sort(got)
		if len(d.objVals) != 50 || !slices.Equal(got, want) {
			t.Errorf("%v: front %v, want %v", d.pair, got, want)
		}
		press(m, "o")
	}
	// The chart plots the hypervolume as a fraction (0 to 1), the raw volume in the
	// title as a person reads numbers.
	if v := m.View(); !strings.Contains(v, "nsga2 5") || !strings.Contains(v, "hv_fraction") || strings.Contains(v, "e+") {
		t.Errorf("no hypervolume fraction chart, or a number in scientific notation:\n%s", v)
	}
}
