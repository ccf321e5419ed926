package strategies

import (
	"cellar/internal/registry"
	"cellar/spaces"
)

// Factory makes a strategy of an experiment.
type Factory struct {
	// New makes the strategy over space, seeded, from its component's options.
	New func(c spaces.Component, space spaces.Space, seed uint64) (Strategy, error)
	// Space, when set, makes the space the strategy's archs belong to from the
	// configured one (compound scaling: a base arch with its coefficients); the
	// evaluator and the store see that space.
	Space func(configured spaces.Space) (spaces.Space, error)
}

// registered are the strategies an experiment can name. Each built-in registers
// itself in its own file; a program adds its own with Register or Define.
var registered = registry.New[Factory]("strategy")

// Register adds a strategy under name, with a one-line doc and its options' defaults
// (for lists and --help). A name registered twice panics.
func Register(name, doc string, defaults any, f Factory) {
	registered.Register(name, doc, defaults, f)
}

// Define registers a strategy whose options are the struct O: the component's
// options are decoded over defaults (so an explicit zero is kept) and handed to build.
func Define[O any](name, doc string, defaults O, build func(opt O, space spaces.Space, seed uint64) (Strategy, error)) {
	Register(name, doc, defaults, Factory{New: func(c spaces.Component, space spaces.Space, seed uint64) (Strategy, error) {
		opt := defaults
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return build(opt, space, seed)
	}})
}

// DefineLegacy is Define for a strategy whose defaults changed: a component of an
// experiment made before (spaces.Legacy) takes legacy, the defaults it ran with, so
// that it replays as it ran.
func DefineLegacy[O any](name, doc string, defaults, legacy O, build func(opt O, space spaces.Space, seed uint64) (Strategy, error)) {
	Register(name, doc, defaults, Factory{New: func(c spaces.Component, space spaces.Space, seed uint64) (Strategy, error) {
		opt := defaults
		if spaces.Legacy(c) {
			opt = legacy
		}
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return build(opt, space, seed)
	}})
}

// Unregister removes a strategy, for a test that registered its own.
func Unregister(name string) { registered.Unregister(name) }

// Lookup finds the strategy name; an unknown name is an error that lists the
// strategies there are.
func Lookup(name string) (Factory, error) {
	e, err := registered.Lookup(name)
	return e.New, err
}

// Registered lists the strategies, in the order they registered.
func Registered() []registry.Entry[Factory] { return registered.Entries() }

// Names lists the strategies' names, sorted.
func Names() []string { return registered.Names() }
