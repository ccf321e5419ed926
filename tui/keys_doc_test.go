package tui

import (
	"flag"
	"os"
	"strings"
	"testing"
)

// keyReference is docs/keys.md: the keys of each screen, in the groups of its full
// help, as the help bar names them.
func keyReference(k KeyMap) string {
	var b strings.Builder
	b.WriteString("# Keys\n\nEach screen's keys, made from the key map (`tui/keys.go`) by\n`go test ./tui -run KeysDoc -update`. The help bar shows the keys of the screen in front;\n`?` shows them all. Keys marked *served* or *when* apply only there; a viewer's help\nleaves out what only an operator may do.\n")
	// Bindings disabled by default, and where they apply.
	notes := map[string]string{
		k.Stop.Help().Key:       " (*served*: operators only, press twice)",
		k.Browse.Help().Key:     " (*when* the search has a DB)",
		k.Objectives.Help().Key: " (*when* there are three objectives or more)",
	}
	for _, screen := range k.screens() {
		b.WriteString("\n## " + screen.name + "\n\n| key | does |\n|---|---|\n")
		for _, group := range screen.keys.FullHelp() {
			for _, kb := range group {
				h := kb.Help()
				b.WriteString("| `" + h.Key + "` | " + h.Desc + notes[h.Key] + " |\n")
			}
		}
	}
	b.WriteString("\nOn every screen Ctrl-C quits as interrupted (the command exits 130). `q` quits from the\ndashboard (exit 0; asked twice while a local search runs, as it stops the search) and\ngoes back from any screen opened over it, as `esc` does. Text being typed (an arch, a\nfilter, a value) takes every key but Ctrl-C. A paste in the editor opens the arch input\nwith what was pasted.\n")
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
