package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
	"cellar/spaces"
	"cellar/themes"
)

const allConv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"

func TestEditorCyclesOpsAndChecksValidity(t *testing.T) {
	nb, _ := spaces.NewNB201(spaces.DefaultNB201)
	e := NewEditor(nb, allConv, 7)
	if e.Valid() != nil || e.params != 1531546 {
		t.Fatalf("start: %v, %d params", e.Valid(), e.params)
	}
	e.Cycle(1) // the first edge's op: nor_conv_3x3 -> avg_pool_3x3
	if !strings.HasPrefix(e.Arch(), "|avg_pool_3x3~0|") || e.Valid() != nil || e.params >= 1531546 {
		t.Fatalf("after one change: %s, %v, %d params", e.Arch(), e.Valid(), e.params)
	}
	e.Move(1) // the first edge's input
	e.Cycle(1)
	err := e.Valid()
	if err == nil || !strings.Contains(err.Error(), "must come from node 0") {
		t.Fatalf("an input of 1 on node 1: %v", err)
	}
	v := e.View(&Common{Styles: themes.Dark.For(plain())}, 120)
	if !strings.Contains(v, "invalid:") {
		t.Errorf("the reason is not shown:\n%s", v)
	}
	e.Cycle(-1)
	if e.Valid() != nil {
		t.Errorf("back to input 0: %v", e.Valid())
	}
}

func TestEditorOnNetworkSpace(t *testing.T) {
	net, _ := spaces.NewNetwork(spaces.DefaultNetwork)
	e := NewEditor(net, "|conv,d=2,w=32,k=3,e=1|mbconv,d=3,w=64,k=5,e=6|conv,d=1,w=16,k=3,e=1|", 1)
	e.Move(2) // the first stage's width
	e.Cycle(1)
	if !strings.HasPrefix(e.Arch(), "|conv,d=2,w=64,") || e.Valid() != nil {
		t.Fatalf("width change: %s %v", e.Arch(), e.Valid())
	}
	e.Move(2) // its expansion: a conv stage takes only 1
	e.Cycle(1)
	if err := e.Valid(); err == nil || !strings.Contains(err.Error(), "no expansion") {
		t.Fatalf("expansion 2 on a conv stage: %v", err)
	}
}

func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "\t":
		return tea.KeyMsg{Type: tea.KeyTab}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

func send(m *Model, k string) {
	_, cmd := m.Update(keyMsg(k))
	if cmd != nil {
		m.Update(cmd())
	}
}

func TestHandTrialFromTheEditor(t *testing.T) {
	src := "name: hand\nseed: 1\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: 400}\n"
	exp := enginetest.Build(t, src)
	exp.Evaluator = slow{exp.Evaluator, 2 * time.Millisecond}
	var mu sync.Mutex
	var told []engine.Trial
	eng := engine.New(exp, engine.Options{Observe: func(tr engine.Trial) {
		mu.Lock()
		told = append(told, tr)
		mu.Unlock()
	}})
	m := New(eng, exp, themes.Dark, plain())
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	// Let some trials finish into the table, then edit the newest.
	for len(m.dashboard.recent) < 3 {
		m.Update(waitEvents(m.sub)())
	}
	send(m, "p") // pause: the hand trial still runs
	sel := m.dashboard.Selected()
	send(m, "e")
	if m.editor == nil {
		t.Fatal("e did not open the editor")
	}
	// An invalid edit is refused and not queued.
	send(m, "l")
	send(m, "k")
	send(m, "enter")
	if !strings.Contains(m.notice, "not queued") || m.editor.queued {
		t.Fatalf("invalid edit: notice %q, queued %v", m.notice, m.editor.queued)
	}
	send(m, "j") // input back to 0
	send(m, "h") // the first op
	send(m, "k") // next op
	arch := m.editor.Arch()
	send(m, "enter")
	if m.notice != "" || !m.editor.queued {
		t.Fatalf("valid edit: notice %q", m.notice)
	}
	testkit.WaitFor(t, "the hand trial", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, tr := range told {
			if tr.Origin == engine.OriginHand {
				return true
			}
		}
		return false
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for _, tr := range told {
		if tr.Origin == engine.OriginHand {
			if tr.Arch != arch || tr.Parent != sel.ID {
				t.Errorf("hand trial %+v: want arch %s, parent %d", tr, arch, sel.ID)
			}
		}
	}
	send(m, "esc")
	if m.editor != nil {
		t.Error("esc did not close the editor")
	}
}

func TestEditAPopulationMember(t *testing.T) {
	eng, exp := finishedSearch(t)
	m := New(eng, exp, themes.Dark, plain())
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 60})
	if err := eng.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	pump(m)
	pop := m.dashboard.fittest()
	if len(pop) != 10 {
		t.Fatalf("population of %d, want regevo's 10", len(pop))
	}
	send(m, "\t")
	if !m.dashboard.onPop {
		t.Fatal("tab did not move the selection to the population")
	}
	send(m, "j")
	if v := m.View(); !strings.Contains(v, fmt.Sprintf("› #%d", pop[1].Trial)) {
		t.Errorf("the second-fittest member #%d is not marked:\n%s", pop[1].Trial, v)
	}
	send(m, "e")
	if m.editor == nil || m.editor.parent != pop[1].Trial || m.editor.Arch() != pop[1].Arch {
		t.Fatalf("editor %+v; want member %+v", m.editor, pop[1])
	}
}
