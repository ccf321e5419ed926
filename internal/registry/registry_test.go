package registry

import (
	"slices"
	"strings"
	"testing"
)

func TestRegistryListsWhatItHolds(t *testing.T) {
	r := New[func() int]("strategy")
	r.Register("b", "the second", nil, func() int { return 2 })
	r.Register("a", "the first", struct{ N int }{3}, func() int { return 1 })
	if got := r.Names(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("names %v", got)
	}
	if es := r.Entries(); len(es) != 2 || es[0].Name != "b" || es[1].Doc != "the first" {
		t.Errorf("entries in registration order: %+v", es)
	}
	e, err := r.Lookup("a")
	if err != nil || e.New() != 1 {
		t.Fatalf("lookup: %v", err)
	}
	if _, err := r.Lookup("c"); err == nil || err.Error() != `unknown strategy "c" (strategies: a, b)` {
		t.Errorf("unknown name: %v", err)
	}
	r.Unregister("a")
	if r.Has("a") || len(r.Entries()) != 1 {
		t.Errorf("a still registered: %v", r.Names())
	}
}

func TestRegistryRefusesATakenOrBadName(t *testing.T) {
	for name, register := range map[string]func(r *Of[int]){
		"twice":  func(r *Of[int]) { r.Register("x", "", nil, 1); r.Register("x", "", nil, 2) },
		"spaced": func(r *Of[int]) { r.Register("a b", "", nil, 1) },
		"empty":  func(r *Of[int]) { r.Register("", "", nil, 1) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(p.(string), "space") {
					t.Errorf("panic %v", p)
				}
			}()
			register(New[int]("space"))
		})
	}
}
