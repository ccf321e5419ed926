package tui

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// keyReference is docs/keys.md: every binding of the key map, in the groups of the
// full help, as the help bar names them.
func keyReference(k KeyMap) string {
	var b strings.Builder
	b.WriteString("# Keys\n\nThe dashboard's and the editor's keys, made from the key map (`tui/keys.go`) by\n`go test ./tui -run KeysDoc -update`; `?` shows them in the UI. Keys marked *served*\nor *when* apply only there.\n\n| key | does |\n|---|---|\n")
	// Bindings disabled by default, and where they apply.
	notes := map[string]string{
		k.Stop.Help().Key:       " (*served*: operators only, press twice)",
		k.Browse.Help().Key:     " (*when* the search has a DB)",
		k.Objectives.Help().Key: " (*when* there are three objectives or more)",
	}
	for _, group := range k.FullHelp() {
		for _, kb := range group {
			h := kb.Help()
			b.WriteString("| `" + h.Key + "` | " + h.Desc + notes[h.Key] + " |\n")
		}
	}
	b.WriteString("\nCtrl-C quits as interrupted (the command exits 130); `q` quits (exit 0).\n")
	return b.String()
}

func TestKeysDocIsCurrent(t *testing.T) {
	const path = "../docs/keys.md"
	want := keyReference(DefaultKeys())
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date with the key map: go test ./tui -run KeysDoc -update", path)
	}
}
