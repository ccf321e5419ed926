package tui

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"cellar/engine"
	"cellar/internal/enginetest"
	"cellar/internal/testkit"
	"cellar/storage"
	"cellar/themes"
)

// slow delays every evaluation so a test can act while the search runs.
type slow struct {
	engine.Evaluator
	d time.Duration
}

func (s slow) Evaluate(ctx context.Context, job engine.Job, p func(engine.Progress)) (engine.Outcome, error) {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
		return engine.Outcome{}, ctx.Err()
	}
	return s.Evaluator.Evaluate(ctx, job, p)
}

func newSearch(t *testing.T, trials int, delay time.Duration) (*engine.Engine, *engine.Experiment) {
	t.Helper()
	exp := enginetest.Build(t, "name: tui-test\nseed: 1\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: "+itoa(trials)+"}\n")
	exp.Evaluator = slow{exp.Evaluator, delay}
	return engine.New(exp, engine.Options{}), exp
}

func itoa(n int) string { return strconv.Itoa(n) }

// plain is a renderer without colour, so views compare as text.
func plain() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// pump feeds the model every event batch until the engine's stream closes.
func pump(m *Model) {
	for {
		msg := waitEvents(m.sub)().(eventsMsg)
		m.Update(msg)
		if !msg.ok {
			return
		}
	}
}

func TestDashboardShowsTheSearch(t *testing.T) {
	eng, exp := newSearch(t, 12, 0)
	m := New(eng, exp, themes.Dark, plain())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	pump(m)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	view := m.View()
	for _, want := range []string{"FINISHED", "tui-test", "12/12 trials", "best params", "Recent trials", "Running (0)"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	// The newest trial heads the table.
	if !strings.Contains(view, "\n› 12     done") {
		t.Errorf("trial 12 is not the table's first row:\n%s", view)
	}
	for _, size := range [][2]int{{80, 24}, {120, 40}, {60, 20}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		m.help.ShowAll = size[0] == 60 // the full help must fit too
		v := m.View()
		if h := lipgloss.Height(v); h > size[1] {
			t.Errorf("%dx%d: view is %d lines high", size[0], size[1], h)
		}
		for i, line := range strings.Split(v, "\n") {
			if w := lipgloss.Width(line); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, line)
			}
		}
	}
}

func press(m *Model, k string) {
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
	if cmd != nil {
		m.Update(cmd())
	}
}

// A burst of keys in one message moves the steering panel's cursor that many knobs,
// as separate presses do.
func TestABurstOfKeysMovesTheSteeringCursor(t *testing.T) {
	eng, exp := newSearch(t, 200, 5*time.Millisecond)
	m := New(eng, exp, themes.Light, plain())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	defer func() { cancel(); testkit.Receive(t, done, "the search to stop") }()
	testkit.WaitFor(t, "three knobs to steer", func() bool { return len(eng.Snapshot().Knobs) >= 3 })
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.dashboard.SetStatus(eng.Snapshot())
	press(m, "s")
	if m.steering == nil {
		t.Fatal("s opened no steering panel")
	}
	press(m, "jj")
	if m.steering.cursor != 2 {
		t.Errorf("jj in one message: knob %d, want 2", m.steering.cursor)
	}
}

func TestPauseKeyPausesTheSearch(t *testing.T) {
	eng, exp := newSearch(t, 200, 5*time.Millisecond)
	m := New(eng, exp, themes.Light, plain())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	testkit.WaitFor(t, "the search to start", func() bool { return eng.Snapshot().State == engine.Searching })
	press(m, "p")
	testkit.WaitFor(t, "the pause", func() bool { return eng.Snapshot().State == engine.Paused })
	testkit.WaitFor(t, "running trials to finish", func() bool { return len(eng.Snapshot().Running) == 0 })
	before := eng.Snapshot()
	// A round trip through the engine's loop, which has since been where it starts
	// trials: none was.
	if err := eng.Pause(false); err != nil {
		t.Fatal(err)
	}
	if after := eng.Snapshot(); after.Done != before.Done || after.Asked != before.Asked || len(after.Running) != 0 {
		t.Errorf("trials went on while paused: %d done, then %d; %d running", before.Done, after.Done, len(after.Running))
	}
	m.Update(tickMsg(time.Now()))
	if v := m.View(); !strings.Contains(v, "PAUSED") {
		t.Errorf("the header does not say paused:\n%s", v)
	}
	press(m, "p")
	testkit.WaitFor(t, "the search to go on", func() bool { return eng.Snapshot().Done > before.Done })
	cancel()
	<-done
}

// A session that starts while a search runs gets the stored trials as its history and
// the rest as events: each finished trial reaches its dashboard exactly once, whether
// events arrived before the history (held) or after it.
func TestLateSessionSeesEveryTrialOnce(t *testing.T) {
	exp := enginetest.Build(t, "name: late\nseed: 5\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: 4000}\nparallelism: 3\n")
	db, err := storage.Open(filepath.Join(t.TempDir(), "late.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	x, _ := db.CreateExperiment(exp.Config.Name, exp.Source)
	eng := engine.New(exp, engine.Options{Store: x})
	history := func() ([]engine.Trial, uint64, error) { return x.History(eng) }
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	testkit.WaitFor(t, "500 trials", func() bool { return eng.Snapshot().Done >= 500 })
	m := NewSession(eng, exp, themes.Dark, plain(), SessionOptions{History: history})
	// Some events come before the history, to be held.
	m.Update(waitEvents(m.sub)())
	trials, seq, err := history()
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) < 500 {
		t.Fatalf("history of %d trials", len(trials))
	}
	m.Update(historyMsg{trials: trials, seq: seq})
	pump(m)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]int{}
	for _, p := range m.dashboard.points {
		seen[p.id]++
	}
	for id := uint64(1); id <= 4000; id++ {
		if seen[id] != 1 {
			t.Fatalf("trial %d reached the dashboard %d times (history of %d, events after seq %d, %d events dropped for falling behind)", id, seen[id], len(trials), seq, m.sub.Dropped())
		}
	}
	if len(m.dashboard.points) != 4000 {
		t.Errorf("%d points, want 4000", len(m.dashboard.points))
	}
}

// The steering panel changes a knob of the running search: the engine applies it at
// its next ask, records who made it, and the reward curve marks where.
func TestSteerPanelChangesTheSearch(t *testing.T) {
	eng, exp := newSearch(t, 100000, 2*time.Millisecond) // runs past the test, which stops it
	m := NewSession(eng, exp, themes.Dark, plain(), SessionOptions{User: "erin"})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	testkit.WaitFor(t, "the search to start", func() bool { return len(eng.Snapshot().Knobs) > 0 })
	m.Update(tickMsg(time.Now()))
	press(m, "s")
	if v := m.View(); !strings.Contains(v, "Steer the search") || !strings.Contains(v, "population") || !strings.Contains(v, "budget.trials") {
		t.Fatalf("no steering panel:\n%s", v)
	}
	// Down to the population knob, enter, type 12, enter.
	knobs := m.dashboard.status.Knobs
	for i := range knobs {
		if knobs[i].Name == "population" {
			break
		}
		m.Update(tea.KeyMsg{Type: tea.KeyDown})
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	for range 8 {
		m.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("12")})
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("enter sent nothing")
	}
	m.Update(cmd())
	if !strings.Contains(m.notice, "population → 12") {
		t.Fatalf("notice %q", m.notice)
	}
	testkit.WaitFor(t, "the change to apply", func() bool { return len(eng.Snapshot().Steers) == 1 })
	en := eng.Snapshot().Steers[0]
	if en.Who != "erin" || en.Param != "population" || en.Old != 30 || en.New != 12 {
		t.Errorf("audit entry %+v", en)
	}
	// A value out of range, one that does not fit the strategy (a population below
	// the sample), or no number at all, is refused at enter with the reason, in the
	// panel, which stays on the value; nothing changes.
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	for _, c := range []struct{ typed, want string }{
		{"0", "not changed: population 0 must be in 1…"},
		{"5", "not changed: regevo: population 5 is below the sample 10"},
		{"xyz", `population: "xyz" is not a number`},
	} {
		for range 8 {
			m.Update(tea.KeyMsg{Type: tea.KeyBackspace})
		}
		m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(c.typed)})
		if _, cmd = m.Update(tea.KeyMsg{Type: tea.KeyEnter}); cmd != nil {
			m.Update(cmd())
		}
		if v := m.View(); !strings.Contains(v, c.want) || !m.steering.editing {
			t.Errorf("%s: the panel does not say %q:\n%s", c.typed, c.want, v)
		}
	}
	// While a value is typed, the help bar shows the keys that do something; the range
	// the panel shows is the one a refusal names, in the same notation.
	v := m.View()
	if strings.Contains(v, "↑/k up") || !strings.Contains(v, "enter apply") {
		t.Errorf("the help bar while typing a value:\n%s", v)
	}
	for _, k := range eng.Snapshot().Knobs {
		if k.Name == "population" && (!strings.Contains(v, k.Range()) || k.Check(0) == nil || !strings.Contains(k.Check(0).Error(), k.Range())) {
			t.Errorf("the panel shows population's range as %q? refused with %v\n%s", k.Range(), k.Check(0), v)
		}
	}
	var made, refused int
	for _, en := range eng.Snapshot().Steers {
		if en.Op == engine.OpSteer {
			made++
		} else {
			refused++
		}
	}
	if made != 1 || refused != 2 { // "xyz" never reached the engine
		t.Errorf("%d changes made and %d refused after three refused ones; want the first alone, and two refused", made, refused)
	}
	m.Update(tickMsg(time.Now())) // the status now
	if v := m.View(); !strings.Contains(v, "population 12 → 5 refused: ") {
		t.Errorf("the panel does not list the refused changes:\n%s", v)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEsc})                            // stop editing
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEsc}); cmd != nil { // close the panel
		m.Update(cmd())
	}
	if m.steering != nil || m.page != pageDashboard {
		t.Fatal("esc did not close the panel")
	}
	testkit.WaitFor(t, "trials after the change", func() bool { return eng.Snapshot().Done > int(en.Trial)+5 })
	m.Update(tickMsg(time.Now()))
	m.Update(eventsMsg{ok: true})
	m.dashboard.chartsRows = nil
	if v := m.View(); !strings.Contains(v, fmt.Sprintf("steered at #%d", en.Trial)) {
		t.Errorf("the reward curve does not mark the change:\n%s", v)
	}
	// A viewer cannot open the panel.
	viewer := NewSession(eng, exp, themes.Dark, plain(), SessionOptions{Viewer: true, User: "frank"})
	press(viewer, "s")
	if viewer.steering != nil || !strings.Contains(viewer.notice, "only an operator") {
		t.Errorf("a viewer opened the steering panel (notice %q)", viewer.notice)
	}
	viewer.Close()
	cancel()
	<-done
}

// With a cascade, the header shows how well each rung orders trials as the next one
// does, from the trials that have climbed so far.
func TestDashboardShowsRungCorrelations(t *testing.T) {
	exp := enginetest.Build(t, "name: casc\nseed: 1\nspace: nb201\nstrategy: random\nevaluator: {name: cascade, rungs: [{name: params}, {name: flops}]}\nobjectives: [{name: flops}]\nbudget: {trials: 10}\n")
	eng := engine.New(exp, engine.Options{})
	m := New(eng, exp, themes.Dark, plain())
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
	if v := m.View(); strings.Contains(v, "ρ") {
		t.Fatalf("correlations before any trial:\n%s", v)
	}
	var evs []engine.Event
	for i := 1; i <= 6; i++ {
		x := float64(i)
		evs = append(evs, engine.Event{Kind: engine.TrialFinished, Trial: engine.Trial{ID: uint64(i), State: engine.Done,
			Rungs: []engine.RungResult{{Rung: 0, Score: &x}, {Rung: 1, Score: ptr(10 - x)}}}})
	}
	m.dashboard.Apply(evs)
	st := eng.Snapshot()
	st.Budget, st.Full = engine.Budget{Final: 8}, 6
	m.dashboard.SetStatus(st)
	if v := m.View(); !strings.Contains(v, "6/8 at full fidelity") {
		t.Errorf("header lacks the final budget:\n%s", v)
	}
	if v := m.View(); !strings.Contains(v, "rungs 0→1 ρ -1.00 τ -1.00 (n 6)") || strings.Contains(v, "params τ") {
		t.Errorf("header lacks the correlation, or has a params one without params:\n%s", v)
	}
	// Trials whose parameter counts rank them as the last rung does: the first rung,
	// ranking them backwards, is warned of.
	evs = nil
	for i := 7; i <= 9; i++ {
		x := float64(i)
		evs = append(evs, engine.Event{Kind: engine.TrialFinished, Trial: engine.Trial{ID: uint64(i), State: engine.Done,
			Rungs: []engine.RungResult{{Rung: 0, Score: &x, Metrics: map[string]float64{"params": 10 - x}}, {Rung: 1, Score: ptr(10 - x)}}}})
	}
	m2 := New(eng, exp, themes.Dark, plain())
	m2.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
	m2.dashboard.Apply(evs)
	if v := m2.View(); !strings.Contains(v, "params τ 1.00 ⚠ rung 0 ranks below params") {
		t.Errorf("no warning of a rung that ranks below params (and no both τ, which is 0/0 here):\n%s", v)
	}
	// A rung and params that misorder different pairs: ranked by both, none is.
	evs = nil
	for i, v := range []struct{ rung, params float64 }{{2, 1}, {1, 2}, {3, 4}, {4, 3}, {6, 5}, {5, 6}} {
		x := v.rung
		evs = append(evs, engine.Event{Kind: engine.TrialFinished, Trial: engine.Trial{ID: uint64(i + 1), State: engine.Done,
			Rungs: []engine.RungResult{{Rung: 0, Score: &x, Metrics: map[string]float64{"params": v.params}}, {Rung: 1, Score: ptr(float64(i))}}}})
	}
	m3 := New(eng, exp, themes.Dark, plain())
	m3.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
	m3.dashboard.Apply(evs)
	if v := m3.View(); !strings.Contains(v, "τ 0.73 (n 6), params τ 0.87, both τ 0.89 ⚠ rung 0 ranks below params") || strings.Contains(v, "live params") {
		t.Errorf("the rung's, params' and both's taus:\n%s", v)
	}
	// The oneshot evaluator's live params: shown beside, and warned of where the rung
	// ranks above params but below them.
	evs = nil
	for i, v := range []struct{ rung, params, live float64 }{{1, 2, 1}, {2, 1, 2}, {3, 4, 3}, {5, 3, 4}, {4, 5, 5}, {6, 6, 6}} {
		x := v.rung
		evs = append(evs, engine.Event{Kind: engine.TrialFinished, Trial: engine.Trial{ID: uint64(i + 1), State: engine.Done,
			Rungs: []engine.RungResult{{Rung: 0, Score: &x, Metrics: map[string]float64{"params": v.params, "live_params": v.live}}, {Rung: 1, Score: ptr(float64(i))}}}})
	}
	m4 := New(eng, exp, themes.Dark, plain())
	m4.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
	m4.dashboard.Apply(evs)
	if v := m4.View(); !strings.Contains(v, "τ 0.87 (n 6), params τ 0.73, both τ 0.97, live params τ 1.00 ⚠ rung 0 ranks below live params") {
		t.Errorf("the rung's, params' and live params' taus:\n%s", v)
	}
}

func ptr(v float64) *float64 { return &v }

// Ctrl-C in the UI is the terminal's interrupt: the program ends as interrupted (the
// command then exits 130); q quits (exit 0).
func TestCtrlCInterruptsAndQQuits(t *testing.T) {
	for _, tc := range []struct {
		key  tea.KeyMsg
		want tea.Msg
	}{{tea.KeyMsg{Type: tea.KeyCtrlC}, tea.InterruptMsg{}}, {keyMsg("q"), tea.QuitMsg{}}} {
		eng, exp := newSearch(t, 10, 0)
		m := New(eng, exp, themes.Light, plain())
		_, cmd := m.Update(tc.key)
		if cmd == nil {
			t.Fatalf("%s: no command", tc.key)
		}
		if got := cmd(); got != tc.want {
			t.Errorf("%s: %T, want %T", tc.key, got, tc.want)
		}
	}
}

// With its trials on workers, the dashboard lists them: name, host, slots, the trials
// each runs and when it was last heard of; one silent too long is marked lost.
func TestDashboardShowsWorkers(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	now := time.Now()
	workers := []Worker{
		{Name: "gpu-1", Host: "lab-a", Slots: 2, Running: []string{"#4", "#5"}, Seen: now.Add(-time.Second)},
		{Name: "gpu-2", Host: "lab-b", Slots: 1, Seen: now.Add(-time.Minute)},
	}
	m := NewSession(eng, exp, themes.Light, plain(), SessionOptions{Workers: func() []Worker { return workers }})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	v := m.View()
	for _, want := range []string{"Workers (2)", "gpu-1", "lab-a", "2 slots", "running #4 #5", "gpu-2", "idle", "LOST"} {
		if !strings.Contains(v, want) {
			t.Errorf("the dashboard does not show %q:\n%s", want, v)
		}
	}
	if strings.Contains(strings.Split(v, "gpu-2")[0], "LOST") {
		t.Error("gpu-1, heard a second ago, is marked lost")
	}
	local := NewSession(eng, exp, themes.Light, plain(), SessionOptions{})
	local.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	if strings.Contains(local.View(), "Workers") {
		t.Error("a search in-process shows a workers panel")
	}
}

// A selection stays on its trial as trials arrive: the recent table's rows move down
// under it, and the population's ranking changes around it.
func TestSelectionFollowsTheTrial(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	m := NewSession(eng, exp, themes.Light, plain(), SessionOptions{})
	d := m.dashboard
	for id := uint64(1); id <= 3; id++ {
		d.addTrial(&engine.Trial{ID: id, Arch: exp.Space.Sample(rand.New(rand.NewPCG(id, 1))).String(), State: engine.Done, Metrics: map[string]float64{"params": float64(id)}})
	}
	d.Select(1) // from the newest (3) to trial 2
	if s := d.Selected(); s == nil || s.ID != 2 {
		t.Fatalf("selected %+v, want trial 2", s)
	}
	d.addTrial(&engine.Trial{ID: 4, State: engine.Done, Metrics: map[string]float64{"params": 4}})
	d.addTrial(&engine.Trial{ID: 5, State: engine.Done, Metrics: map[string]float64{"params": 5}})
	if s := d.Selected(); s == nil || s.ID != 2 {
		t.Errorf("after two more trials the selection is on %+v, want trial 2", s)
	}
	d.SetStatus(engine.Status{Population: []engine.Member{{Trial: 1, Score: 1}, {Trial: 2, Score: 2}, {Trial: 3, Score: 3}}})
	d.ToggleFocus()
	d.Select(1) // the second fittest: trial 2
	if s := d.Selected(); s == nil || s.ID != 2 {
		t.Fatalf("population selection %+v, want trial 2", s)
	}
	d.SetStatus(engine.Status{Population: []engine.Member{{Trial: 2, Score: 2}, {Trial: 6, Score: 9}, {Trial: 7, Score: 8}, {Trial: 3, Score: 3}}})
	if s := d.Selected(); s == nil || s.ID != 2 {
		t.Errorf("after the population changed the selection is on %+v, want trial 2", s)
	}
}

// A message has a line of its own, above the keys, and goes after a few seconds or at
// the next key.
func TestMessagesExpire(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	m := NewSession(eng, exp, themes.Light, plain(), SessionOptions{Viewer: true, Who: "ann (viewer)"})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	press(m, "p")
	lines := strings.Split(m.View(), "\n")
	var msgLine string
	for _, l := range lines {
		if strings.Contains(l, "only an operator can do that") {
			msgLine = l
		}
	}
	if msgLine == "" || strings.Contains(msgLine, "ann (viewer)") {
		t.Fatalf("the message is not on a line of its own:\n%s", m.View())
	}
	m.Update(tickMsg(time.Now().Add(time.Second)))
	if !strings.Contains(m.View(), "only an operator") {
		t.Error("the message went after a second")
	}
	m.Update(tickMsg(time.Now().Add(noticeFor + time.Second)))
	if strings.Contains(m.View(), "only an operator") {
		t.Error("the message stayed past its time")
	}
	press(m, "p")
	m.Update(tea.KeyMsg{Type: tea.KeyDown})
	if strings.Contains(m.View(), "only an operator") {
		t.Error("the message stayed after the next key")
	}
}

// PAUSED says how many trials are still finishing, and everyone sees who paused the
// search and when.
func TestPausedHeaderSaysWhoAndWhatIsFinishing(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	m := New(eng, exp, themes.Light, plain())
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	at := time.Date(2026, 12, 1, 15, 4, 5, 0, time.Local)
	m.dashboard.status.State = engine.Paused
	m.dashboard.status.Running = []engine.Trial{{ID: 4}, {ID: 5}}
	m.dashboard.status.Control = &engine.Control{Did: "paused", Who: "alice", At: at}
	head := strings.Split(m.View(), "\n")[0]
	if !strings.Contains(head, "PAUSED · 2 finishing") || !strings.Contains(head, "paused by alice at 15:04:05") {
		t.Errorf("header: %q", head)
	}
	m.dashboard.status.Running = nil
	if head := strings.Split(m.View(), "\n")[0]; strings.Contains(head, "finishing") {
		t.Errorf("nothing is finishing: %q", head)
	}
	// On a narrow screen the best result outlasts who paused.
	m.Update(tea.WindowSizeMsg{Width: 72, Height: 24})
	m.dashboard.status.Done = 3
	m.dashboard.status.Best = &engine.Trial{ID: 2, Metrics: map[string]float64{m.dashboard.obj.Name: 93.5}}
	if head := strings.Split(m.View(), "\n")[0]; !strings.Contains(head, "best") {
		t.Errorf("at 72 columns the header dropped the best result: %q", head)
	}
}

// While every trial fails, the header says why, with the trainer's last words.
func TestHeaderSaysWhyTrialsFail(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	m := New(eng, exp, themes.Light, plain())
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 30})
	m.dashboard.status.Failed = 3
	m.dashboard.status.Failure = &engine.Failure{Reason: "command exited with status 2; its stderr ends:\npython3: can't open file 'bgu.py'", Count: 3, Of: 3, Trial: 1}
	if head := strings.Split(m.View(), "\n")[0]; !strings.Contains(head, "3 failed") || !strings.Contains(head, "why: python3: can't open file 'bgu.py'") {
		t.Errorf("header: %q", head)
	}
	// Once trials work, the reason is the first part a narrow header drops.
	m.dashboard.status.Done = 1
	if head := strings.Split(m.View(), "\n")[0]; !strings.Contains(head, "why:") {
		t.Errorf("a trial is done and there is room; the header no longer says why others fail: %q", head)
	}
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 24})
	if head := strings.Split(m.View(), "\n")[0]; strings.Contains(head, "why:") || !strings.Contains(head, "3 failed") {
		t.Errorf("at 60 columns the reason goes before the count: %q", head)
	}
	// A failure as it happens is said in the status line.
	m.apply([]engine.Event{{Seq: 1 << 40, Kind: engine.TrialFinished, Trial: engine.Trial{ID: 9, State: engine.Failed, Error: "command exited with status 1; its stderr ends:\nCUDA out of memory"}}})
	if v := m.View(); !strings.Contains(v, "trial 9 failed: CUDA out of memory") {
		t.Errorf("the status line does not say the failure:\n%s", v)
	}
}

// The engine records who paused and resumed.
func TestEngineRecordsWhoPaused(t *testing.T) {
	eng, _ := newSearch(t, 200, 5*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go eng.Run(ctx)
	testkit.WaitFor(t, "the search to start", func() bool { return eng.Snapshot().State == engine.Searching })
	if err := eng.PauseAs("bob", false); err != nil {
		t.Fatal(err)
	}
	if c := eng.Snapshot().Control; c == nil || c.Did != "paused" || c.Who != "bob" || c.At.IsZero() {
		t.Errorf("after a pause: %+v", c)
	}
	if err := eng.ResumeAs("carol"); err != nil {
		t.Fatal(err)
	}
	if c := eng.Snapshot().Control; c == nil || c.Did != "resumed" || c.Who != "carol" {
		t.Errorf("after a resume: %+v", c)
	}
}

// A viewer's help bar shows only what a viewer may do; an operator's shows the rest.
func TestViewerHelpShowsOnlyWhatItMayDo(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	for _, c := range []struct {
		viewer bool
		want   bool
	}{{true, false}, {false, true}} {
		m := NewSession(eng, exp, themes.Light, plain(), SessionOptions{Viewer: c.viewer, Stop: func() {}})
		m.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
		press(m, "?")
		v := m.View()
		for _, op := range []string{"pause/resume", "edit selected", "s steer", "X X stop the search"} {
			if strings.Contains(v, op) != c.want {
				t.Errorf("viewer %v: help shows %q: %v, want %v\n%s", c.viewer, op, !c.want, c.want, v)
			}
		}
		if !regexp.MustCompile(`q +leave`).MatchString(v) {
			t.Errorf("viewer %v: no q in the help:\n%s", c.viewer, v)
		}
	}
}

// X arms the stop for a few seconds: then, or after another key, the next X asks again.
func TestStopArmingLapses(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	stops := 0
	m := NewSession(eng, exp, themes.Light, plain(), SessionOptions{Stop: func() { stops++ }})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	press(m, "X")
	if !strings.Contains(m.View(), "press X again") {
		t.Fatalf("X did not ask:\n%s", m.View())
	}
	m.Update(tickMsg(time.Now().Add(noticeFor + time.Second)))
	press(m, "X")
	if stops != 0 || !strings.Contains(m.View(), "press X again") {
		t.Fatalf("an X after the arming lapsed stopped the search (%d stops)", stops)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyDown})
	press(m, "X")
	if stops != 0 {
		t.Fatal("an X after another key stopped the search")
	}
	press(m, "X")
	if stops != 1 {
		t.Fatalf("X X: %d stops, want 1", stops)
	}
	if c := eng.Snapshot().Control; c == nil || c.Did != "stopped" {
		t.Errorf("the stop is not recorded: %+v", c)
	}
}

// e with no trial finished says so.
func TestEditWithNothingSelected(t *testing.T) {
	eng, exp := newSearch(t, 5, 0)
	m := New(eng, exp, themes.Light, plain())
	press(m, "e")
	if m.editor != nil || !strings.Contains(m.notice, "nothing to edit yet") {
		t.Errorf("e on an empty dashboard: editor %v, notice %q", m.editor != nil, m.notice)
	}
}
