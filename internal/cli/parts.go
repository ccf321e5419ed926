package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"cellar/engine"
	"cellar/internal/registry"
	"cellar/proxies"
	"cellar/spaces"
	"cellar/strategies"
)

// partsHelp lists what an experiment file can name, from the registries (a space,
// strategy or proxy that registers itself shows up here with no other change).
func partsHelp(evals map[string]engine.EvaluatorFactory) string {
	var b strings.Builder
	section(&b, "Spaces (space: {name: ...})", spaces.Registered())
	section(&b, "Strategies (strategy: {name: ...})", strategies.Registered())
	fmt.Fprintf(&b, "\nEvaluators (evaluator: {name: ...}):\n  %s\n", strings.Join(slices.Sorted(maps.Keys(evals)), ", "))
	section(&b, "Zero-cost proxies (evaluator: {name: zerocost, proxies: [...]})", proxies.Registered())
	return b.String()
}

func section[F any](b *strings.Builder, title string, entries []registry.Entry[F]) {
	fmt.Fprintf(b, "\n%s:\n", title)
	for _, e := range entries {
		fmt.Fprintf(b, "  %-12s %s\n", e.Name, e.Doc)
	}
}
