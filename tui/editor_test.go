package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

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
	e.common = &Common{Styles: themes.Dark.For(plain()), Keys: DefaultKeys()}
	e.SetSize(120, 40)
	if e.Valid() != nil || e.params != 1531546 {
		t.Fatalf("start: %v, %d params", e.Valid(), e.params)
	}
	e.Cycle(1) // the first edge's op: nor_conv_3x3 -> avg_pool_3x3
	if !strings.HasPrefix(e.Arch(), "|avg_pool_3x3~0|") || e.Valid() != nil || e.params >= 1531546 {
		t.Fatalf("after one change: %s, %v, %d params", e.Arch(), e.Valid(), e.params)
	}
	// NB201's inputs are fixed: every change of one is invalid, so the cursor skips
	// them, from op to op, both ways and round the end.
	e.Move(1)
	if f := e.fields[e.cursor]; e.Arch()[f.Start:f.End] != "nor_conv_3x3" || e.cursor != 2 {
		t.Fatalf("→ from the first op stopped at field %d (%q), not the second edge's op", e.cursor, e.Arch()[f.Start:f.End])
	}
	e.Move(-2)
	if e.cursor != 10 { // the sixth edge's op, round the start
		t.Errorf("← ← from the second op: field %d, want 10", e.cursor)
	}
	// A typed arch that is invalid shows why.
	e.Key(keyMsg("i"))
	if !e.Typing() {
		t.Fatal("i did not open the arch input")
	}
	e.input.SetValue("|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
	e.Key(keyMsg("enter"))
	err := e.Valid()
	if err == nil || !strings.Contains(err.Error(), "must come from node 0") {
		t.Fatalf("an input of 1 on node 1: %v", err)
	}
	if v := e.View(); !strings.Contains(v, "invalid:") {
		t.Errorf("the reason is not shown:\n%s", v)
	}
	// A paste opens the input with what was pasted; enter takes it.
	e.Key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(allConv), Paste: true})
	if !e.Typing() || e.input.Value() != allConv {
		t.Fatalf("a paste: typing %v, input %q", e.Typing(), e.input.Value())
	}
	e.Key(keyMsg("enter"))
	if e.Valid() != nil || e.Arch() != allConv || e.Typing() {
		t.Errorf("the pasted arch: %s, %v", e.Arch(), e.Valid())
	}
}

// At 70 columns the arch wraps, and the field being edited is in sight.
func TestEditorWrapsTheArchAtNarrowWidths(t *testing.T) {
	nb, _ := spaces.NewNB201(spaces.DefaultNB201)
	e := NewEditor(nb, allConv, 7)
	e.common = &Common{Styles: themes.Dark.For(plain()), Keys: DefaultKeys()}
	e.SetSize(40, 20)
	e.Move(-1) // the last edge's op, at the end of the string
	v := e.View()
	if !strings.Contains(v, "[nor_conv_3x3]~2|") {
		t.Errorf("the last field is not in sight at 40 columns:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if w := lipgloss.Width(l); w > 40 {
			t.Errorf("a line of %d columns at 40: %q", w, l)
		}
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
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
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
	// The selected trial's own arch was evaluated: enter says so with its result, and
	// a second enter would queue it anyway.
	send(m, "enter")
	if !strings.Contains(m.notice, fmt.Sprintf("already evaluated as trial %d", sel.ID)) || m.editor.queued {
		t.Fatalf("queueing an evaluated arch: notice %q, queued %v", m.notice, m.editor.queued)
	}
	// An invalid arch (typed, its end cut) is refused and not queued.
	send(m, "i")
	for range 3 {
		send(m, "backspace")
	}
	send(m, "enter")
	send(m, "enter")
	if !strings.Contains(m.notice, "not queued") || m.editor.queued {
		t.Fatalf("invalid edit: notice %q, queued %v", m.notice, m.editor.queued)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(sel.Arch), Paste: true}) // back to the selected arch
	send(m, "enter")
	send(m, "k") // the first op's next value
	arch := m.editor.Arch()
	send(m, "enter")
	if strings.HasPrefix(m.notice, "already evaluated") {
		send(m, "enter") // regevo got there first: queue it anyway
	}
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
