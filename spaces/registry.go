package spaces

import "cellar/internal/registry"

// Component is a part of an experiment file with its options (the engine's
// Component): Decode fills a struct strictly, an unknown key an error naming it and
// the nearest known one; Has says whether a key is given at all.
type Component interface {
	Decode(dst any) error
	Has(key string) bool
}

// DecodeOptional is Decode for options with an optional part under key (regevo's
// warm_start, train's early_stop): *part is filled with def before decoding, so the
// part's own explicit zeros are kept, and dropped again when the component does not
// give key, so a part left out stays off. Spaces, strategies and evaluators alike
// decode their options through it.
func DecodeOptional[P any](c Component, dst any, part **P, def P, key string) error {
	*part = &def
	if err := c.Decode(dst); err != nil {
		return err
	}
	if !c.Has(key) {
		*part = nil
	}
	return nil
}

// Factory makes a space from its options.
type Factory func(c Component) (Space, error)

// registered are the spaces an experiment can name. Each built-in registers itself
// in its own file; a program adds its own with Register or Define.
var registered = registry.New[Factory]("space")

// Register adds a space under name, with a one-line doc and its options' defaults
// (for lists and --help). A name registered twice panics.
func Register(name, doc string, defaults any, f Factory) {
	registered.Register(name, doc, defaults, f)
}

// Define registers a space whose options are the struct O: the component's options
// are decoded over defaults (so an explicit zero is kept) and handed to build.
func Define[O any](name, doc string, defaults O, build func(O) (Space, error)) {
	Register(name, doc, defaults, func(c Component) (Space, error) {
		opt := defaults
		if err := c.Decode(&opt); err != nil {
			return nil, err
		}
		return build(opt)
	})
}

// Unregister removes a space, for a test that registered its own.
func Unregister(name string) { registered.Unregister(name) }

// Build makes the space name with its options; an unknown name is an error that
// lists the spaces there are.
func Build(name string, c Component) (Space, error) {
	e, err := registered.Lookup(name)
	if err != nil {
		return nil, err
	}
	return e.New(c)
}

// Registered lists the spaces, in the order they registered.
func Registered() []registry.Entry[Factory] { return registered.Entries() }

// Names lists the spaces' names, sorted.
func Names() []string { return registered.Names() }

// Legacy says whether a component belongs to an experiment made before the current
// generation of defaults (engine.Config.Defaults): it then takes the defaults it ran
// with, which a component keeps beside its current ones (strategies.DefineLegacy).
func Legacy(c Component) bool {
	l, ok := c.(interface{ Legacy() bool })
	return ok && l.Legacy()
}
