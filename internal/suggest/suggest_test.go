package suggest

import "testing"

func TestNearest(t *testing.T) {
	names := []string{"trials", "budget", "seed", "strategy"}
	for typed, want := range map[string]string{"trails": "trials", "seeds": "seed", "budgte": "budget", "zzz": "", "Seed": "seed", "stratgy": "strategy"} {
		if got := Nearest(typed, names); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", typed, got, want)
		}
	}
	for _, c := range []struct {
		a, b string
		d    int
	}{{"kitten", "sitting", 3}, {"jsno", "json", 1}, {"", "abc", 3}, {"abc", "abc", 0}, {"ca", "abc", 3}} {
		if d := EditDistance(c.a, c.b); d != c.d {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", c.a, c.b, d, c.d)
		}
	}
}
