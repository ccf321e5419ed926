package latency

import (
	"testing"

	"cellar/spaces"
)

// Every layer kind of the IR has an entry in the table of keys (nil for the kinds that
// cost nothing), and none that is not a kind.
func TestEveryKindHasAKey(t *testing.T) {
	for _, k := range spaces.Kinds() {
		if _, ok := keys[k]; !ok {
			t.Errorf("no latency key for %s", k)
		}
	}
	if len(keys) != len(spaces.Kinds()) {
		t.Errorf("%d keys for %d kinds", len(keys), len(spaces.Kinds()))
	}
}
