package evaluators

import (
	"fmt"
	"strings"
	"testing"
)

func TestMedianStoppingRule(t *testing.T) {
	s, err := newStopper(EarlyStopOptions{Rule: "median", Grace: 2, Eta: 3, MinTrials: 3}, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Before min_trials finished trials, nothing stops.
	if ok, _ := s.keep(9, []float64{1, 1}); !ok {
		t.Fatal("stopped with no finished trials")
	}
	s.finished(1, []float64{50, 60, 70, 80, 90}) // running means: 50, 55, 60
	s.finished(2, []float64{40, 50, 60, 70, 80}) // 40, 45, 50
	s.finished(3, []float64{60, 70, 80, 90, 95}) // 60, 65, 70
	// Epoch 1 is within grace.
	if ok, _ := s.keep(9, []float64{1}); !ok {
		t.Error("stopped within grace")
	}
	// At epoch 2 the median of running means is 55: best 54 stops, 55 goes on.
	ok, stop := s.keep(9, []float64{54, 20})
	if ok || stop == nil || stop.Epoch != 2 || stop.Rule != "median" || !strings.Contains(stop.Reason, "55.00") {
		t.Errorf("best 54 under median 55: keep %v, stop %+v", ok, stop)
	}
	if ok, _ := s.keep(10, []float64{30, 55}); !ok {
		t.Error("best 55 equals the median 55 and must go on (strictly worse stops)")
	}
	// At epoch 3 the median is 60.
	if ok, _ := s.keep(11, []float64{59, 58, 57}); ok {
		t.Error("best 59 under median 60 went on")
	}
}

func TestASHAStopsByRung(t *testing.T) {
	// 9 epochs, grace 1, eta 3: rungs at 1 and 3 epochs.
	s, err := newStopper(EarlyStopOptions{Rule: "asha", Grace: 1, Eta: 3, MinTrials: 3}, 9)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.rungs(0); fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("rungs %v; want [1 3]", got)
	}
	decide := func(id uint64, curve ...float64) bool { ok, _ := s.keep(id, curve); return ok }
	want := []bool{true, false, true, false, false, true} // as the ladder test: keep ⌊n/3⌋, at least 1
	for i, v := range []float64{50, 40, 60, 55, 58, 59} {
		if got := decide(uint64(i+1), v); got != want[i] {
			t.Errorf("trial %d at rung 0 (%v): keep %v; want %v", i+1, v, got, want[i])
		}
	}
	// Epoch 2 is no rung: nothing is judged.
	if !decide(2, 10, 10) {
		t.Error("stopped at epoch 2, which is no rung")
	}
	// Rung 1 (epoch 3) has its own results.
	if !decide(1, 50, 51, 52) {
		t.Error("the first arrival at rung 1 stopped")
	}
	ok, stop := s.keep(3, []float64{60, 50, 40})
	if ok || stop.Rung != 1 || stop.Epoch != 3 || stop.Rule != "asha" {
		t.Errorf("second at rung 1 with eta 3: keep %v stop %+v", ok, stop)
	}
}

func TestHyperbandBrackets(t *testing.T) {
	// 27 epochs, grace 1, eta 3: brackets starting at 1, 3 and 9 epochs.
	s, err := newStopper(EarlyStopOptions{Rule: "hyperband", Grace: 1, Eta: 3, MinTrials: 3}, 27)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.st.Brackets) != 3 {
		t.Fatalf("%d brackets; want 3", len(s.st.Brackets))
	}
	for b, want := range []string{"[1 3 9]", "[3 9]", "[9]"} {
		if got := fmt.Sprint(s.rungs(b)); got != want {
			t.Errorf("bracket %d rungs %s; want %s", b, got, want)
		}
	}
	// Trial 3 is in bracket 0, trial 4 in bracket 1: after a good trial 3 at epoch 1,
	// a bad trial 6 (bracket 0) stops there, a bad trial 4 (bracket 1) is not judged
	// until epoch 3.
	s.keep(3, []float64{90})
	if ok, _ := s.keep(6, []float64{10}); ok {
		t.Error("trial 6 (bracket 0) went on from rung 0 behind trial 3")
	}
	if ok, _ := s.keep(4, []float64{10}); !ok {
		t.Error("trial 4 (bracket 1) was judged at epoch 1")
	}
}

func TestEarlyStopOptionErrors(t *testing.T) {
	for _, c := range []struct {
		opt  EarlyStopOptions
		want string
	}{
		{EarlyStopOptions{Rule: "sometimes", Grace: 1, Eta: 3, MinTrials: 3}, `rule "sometimes"`},
		{EarlyStopOptions{Rule: "asha", Grace: 5, Eta: 3, MinTrials: 3}, "grace 5"},
		{EarlyStopOptions{Rule: "asha", Grace: 0, Eta: 3, MinTrials: 3}, "grace 0"},
		{EarlyStopOptions{Rule: "asha", Grace: 1, Eta: 1, MinTrials: 3}, "eta 1"},
		{EarlyStopOptions{Rule: "median", Grace: 1, Eta: 3, MinTrials: -1}, "min_trials -1"},
	} {
		if _, err := newStopper(c.opt, 5); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error with %q", c.opt, err, c.want)
		}
	}
}
