package engine

// Restore rebuilds an engine's state from its Options.Resume without running it, for
// the package's external tests (which build experiments with the evaluators, and so
// cannot be in this package).
func Restore(e *Engine) error { return e.restore() }
