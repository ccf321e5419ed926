package tui

import (
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"cellar/engine"
	"cellar/storage"
	"cellar/themes"
)

// The dashboard and the browser holding 100,000 trials: one op is one frame (View).
// The goal is under 16 ms a frame.

func manyTrials(n int) []engine.Trial {
	rng := rand.New(rand.NewPCG(1, 1))
	trials := make([]engine.Trial, n)
	for i := range trials {
		trials[i] = engine.Trial{ID: uint64(i + 1), State: engine.Done, Origin: "regevo", Parent: uint64(rng.IntN(i + 1)),
			Arch:    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
			Metrics: map[string]float64{"params": 7e4 + rng.Float64()*1.5e6, "flops": 1e7 + rng.Float64()*2e8}}
	}
	return trials
}

func BenchmarkDashboardFrame100k(b *testing.B) {
	b.Run("unchanged", func(b *testing.B) { dashboardFrames(b, false) })
	b.Run("new-trial-each-frame", func(b *testing.B) { dashboardFrames(b, true) })
}

func dashboardFrames(b *testing.B, grow bool) {
	eng, exp := finishedSearch(&testing.T{})
	m := New(eng, exp, themes.Dark, plain())
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 60})
	var events []engine.Event
	for _, t := range manyTrials(100000) {
		events = append(events, engine.Event{Kind: engine.TrialFinished, Trial: t})
	}
	m.dashboard.Apply(events)
	best := events[0].Trial
	m.dashboard.SetStatus(engine.Status{State: engine.Searching, Done: 100000, Budget: engine.Budget{Trials: 200000}, Best: &best, Elapsed: time.Hour})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	next := uint64(100001)
	for i := 0; i < b.N; i++ {
		if grow {
			t := engine.Trial{ID: next, State: engine.Done, Metrics: map[string]float64{"params": 1e5, "flops": 1e8}}
			m.dashboard.Apply([]engine.Event{{Kind: engine.TrialFinished, Trial: t}})
			next++
		}
		_ = m.View()
	}
	b.StopTimer()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc)/1e6, "MB-heap")
}

func BenchmarkBrowserFrame100k(b *testing.B) {
	br := NewBrowser("x.db", themes.Dark, plain())
	br.Update(tea.WindowSizeMsg{Width: 160, Height: 60})
	trials := manyTrials(100000)
	le := &loadedExp{info: storage.ExperimentInfo{ID: 1, Name: "big"}, obj: engine.Objective{Name: "params", Direction: "min"}, trials: trials, metrics: engine.MetricNames(trials), loaded: true}
	br.Update(expMsg{exp: le, gen: br.gen})
	br.sortBy = 1
	br.refresh()
	br.cursor = 50000
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = br.View()
	}
}

// BenchmarkBrowserOpen1M times the browser on a DB of 1,000,000 trials (written once,
// in batches, before the timer starts): from start to the experiment list, to the
// experiment's first trials screen, and to all its trials read.
func BenchmarkBrowserOpen1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.db")
	db, err := storage.Open(path, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	x, _ := db.CreateExperiment("big", []byte("name: big\nseed: 1\nspace: nb201\nstrategy: regevo\nevaluator: params\nbudget: {trials: 1000000}\n"))
	all := manyTrials(1000000)
	for lo := 0; lo < len(all); lo += 50000 {
		if err := x.Commit(all[lo:lo+50000], engine.Checkpoint{NextID: uint64(lo + 50001)}); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		br := NewBrowser(path, themes.Dark, plain())
		drive(br, br.Init())
		listed := time.Since(start)
		_, cmd := br.Update(keyMsg("enter"))
		_, more := br.Update(cmd())
		_ = br.View()
		first := time.Since(start)
		if len(br.rows) != firstChunk {
			b.Fatalf("%d rows on the first screen", len(br.rows))
		}
		drive(br, more)
		_ = br.View()
		if len(br.rows) != 1000000 {
			b.Fatalf("%d rows", len(br.rows))
		}
		b.ReportMetric(listed.Seconds(), "s-to-experiments")
		b.ReportMetric(first.Seconds(), "s-to-trials")
		b.ReportMetric(time.Since(start).Seconds(), "s-to-all-trials")
	}
}
