package nn

import (
	"testing"

	"cellar/spaces"
)

// Every layer kind of the IR compiles: the table of kinds has each one, and nothing
// that is not a kind.
func TestEveryKindCompiles(t *testing.T) {
	for _, k := range spaces.Kinds() {
		if kinds[k] == nil {
			t.Errorf("nn cannot compile %s", k)
		}
	}
	if len(kinds) != len(spaces.Kinds()) {
		t.Errorf("%d compilers for %d kinds", len(kinds), len(spaces.Kinds()))
	}
}
