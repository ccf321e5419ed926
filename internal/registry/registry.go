// Package registry is a table of named factories, the extension point of spaces,
// strategies and proxies: each built-in registers itself from its own file, and a
// program (or a test) adds its own the same way. Lists in errors and --help come
// from here, never from a hand-kept slice. It imports nothing of cellar, so the
// leaf packages may use it.
package registry

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Entry is what a registry keeps for a name: a one-line doc, the options' defaults
// (a struct value, nil for none) and the factory.
type Entry[F any] struct {
	Name     string
	Doc      string
	Defaults any
	New      F
}

// Of is a registry of factories of type F, for things of one kind ("space",
// "strategy"). The zero value is not usable: make one with New.
type Of[F any] struct {
	kind    string
	mu      sync.RWMutex
	entries map[string]Entry[F]
	order   []string // registration order, for lists that keep the built-ins' order
}

// New makes an empty registry of kind (used in messages: "unknown space").
func New[F any](kind string) *Of[F] {
	return &Of[F]{kind: kind, entries: map[string]Entry[F]{}}
}

// Register adds a factory under name. A name registered twice is a programming error
// and panics, as database/sql's Register does: two packages cannot both own a name.
func (r *Of[F]) Register(name, doc string, defaults any, f F) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" || strings.ContainsAny(name, " \t\n,") {
		panic(fmt.Sprintf("registry: %s name %q: a word, no spaces or commas", r.kind, name))
	}
	if _, dup := r.entries[name]; dup {
		panic(fmt.Sprintf("registry: %s %q registered twice", r.kind, name))
	}
	r.entries[name] = Entry[F]{Name: name, Doc: doc, Defaults: defaults, New: f}
	r.order = append(r.order, name)
}

// Unregister removes name, for tests that register a toy for their own run.
func (r *Of[F]) Unregister(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.entries, name)
	r.order = slices.DeleteFunc(r.order, func(n string) bool { return n == name })
}

// Lookup finds name; the error names the kind and lists what there is.
func (r *Of[F]) Lookup(name string) (Entry[F], error) {
	r.mu.RLock()
	e, ok := r.entries[name]
	r.mu.RUnlock()
	if !ok {
		return e, fmt.Errorf("unknown %s %q (%s: %s)", r.kind, name, plural(r.kind), strings.Join(r.Names(), ", "))
	}
	return e, nil
}

// Has says whether name is registered.
func (r *Of[F]) Has(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.entries[name]
	return ok
}

// Names lists the registered names, sorted.
func (r *Of[F]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(slices.Values(r.order))
}

// Entries lists every entry in registration order.
func (r *Of[F]) Entries() []Entry[F] {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Entry[F], len(r.order))
	for i, n := range r.order {
		out[i] = r.entries[n]
	}
	return out
}

func plural(kind string) string {
	if strings.HasSuffix(kind, "y") {
		return kind[:len(kind)-1] + "ies"
	}
	return kind + "s"
}
