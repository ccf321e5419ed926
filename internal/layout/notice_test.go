package layout

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NOTICE names every Go module linked into the cellar binary, at its version, with
// its licence (bench/notice.sh writes it): a dependency added or updated without it
// fails here.
func TestNoticeListsEveryModule(t *testing.T) {
	root := filepath.Join("..", "..")
	notice, err := os.ReadFile(filepath.Join(root, "NOTICE"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "LICENSE")); err != nil {
		t.Error(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", ".")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("go list: %v (no go tool here?)", err)
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(string(notice), "\n") {
		if f := strings.Fields(line); len(f) >= 3 {
			rows[f[0]+" "+f[1]] = true
		}
	}
	for _, mod := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if mod != "" && !rows[mod] {
			t.Errorf("NOTICE lacks %s: run bash bench/notice.sh", mod)
		}
	}
	if !strings.Contains(string(notice), "NATS-Bench") {
		t.Error("NOTICE does not name the embedded NAS-Bench-201 table")
	}
}

// The README's screen is the dashboard as the golden test draws it at 80x24, and its
// fence closes on a line of its own.
func TestReadmeShowsTheGoldenDashboard(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile(filepath.Join(root, "tui", "testdata", "TestGoldenScreens", "dashboard", "80x24.golden"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(golden), "\n"), "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	if want := "```\n" + strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n```\n"; !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not show tui/testdata/TestGoldenScreens/dashboard/80x24.golden in a fence of its own:\n%s", want)
	}
}
