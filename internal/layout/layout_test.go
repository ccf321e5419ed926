// Package layout keeps the tree's layering (docs/internals.md): imports point down,
// and a few libraries stay with the one package whose job they are.
package layout

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// imports maps each package directory (relative to the module root) to the imports
// of its non-test files.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root := filepath.Join("..", "..")
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		dir = filepath.ToSlash(dir)
		for _, im := range f.Imports {
			p := strings.Trim(im.Path.Value, `"`)
			if !slices.Contains(out[dir], p) {
				out[dir] = append(out[dir], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// allowed reads the table of arrows in docs/internals.md: package -> the packages of
// cellar it may import.
func allowed(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "internals.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	begin, end := strings.Index(doc, "<!-- layout:begin -->"), strings.Index(doc, "<!-- layout:end -->")
	if begin < 0 || end < begin {
		t.Fatal("docs/internals.md has no table between <!-- layout:begin --> and <!-- layout:end -->")
	}
	table := map[string][]string{}
	for i, line := range strings.Split(doc[begin:end], "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 2 || !strings.HasPrefix(strings.TrimSpace(cells[0]), "`") {
			continue // the marker, the header and its rule
		}
		pkg := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if _, twice := table[pkg]; twice {
			t.Fatalf("docs/internals.md's table: line %d lists %s again", i, pkg)
		}
		table[pkg] = []string{}
		if deps := strings.TrimSpace(cells[1]); deps != "nothing" {
			for _, d := range strings.Split(deps, ",") {
				table[pkg] = append(table[pkg], strings.Trim(strings.TrimSpace(d), "`"))
			}
		}
	}
	return table
}

// outside lists every import of cellar in all (dir -> import paths) that the table
// does not allow, and every package the table does not list.
func outside(all, table map[string][]string) []string {
	var bad []string
	for _, dir := range slices.Sorted(maps.Keys(all)) {
		if dir == "." {
			continue // main.go, checked on its own
		}
		may, listed := table[dir]
		if !listed {
			bad = append(bad, fmt.Sprintf("%s is not in docs/internals.md's table of arrows: add its row", dir))
			continue
		}
		for _, im := range all[dir] {
			if dep, ok := strings.CutPrefix(im, "cellar/"); ok && !slices.Contains(may, dep) {
				bad = append(bad, fmt.Sprintf("%s imports %s, an arrow docs/internals.md's table does not have", dir, dep))
			}
		}
	}
	return bad
}

func TestImportsFollowTheTable(t *testing.T) {
	all := imports(t)
	if len(all["engine"]) == 0 || len(all["spaces"]) == 0 {
		t.Fatalf("found no engine or spaces package from %v", all)
	}
	for _, problem := range outside(all, allowed(t)) {
		t.Error(problem)
	}
	// only[lib] are the directories that may import lib.
	only := map[string][]string{
		"github.com/charmbracelet/bubbletea": {"tui", "serve"},
		"github.com/charmbracelet/lipgloss":  {"tui", "serve", "themes"},
		"gorgonia.org/gorgonia":              {"nn"},
	}
	for dir, ims := range all {
		for _, im := range ims {
			for lib, may := range only {
				if strings.HasPrefix(im, lib) && !slices.ContainsFunc(may, func(m string) bool { return dir == m || strings.HasPrefix(dir, m+"/") }) {
					t.Errorf("%s imports %s; only %s may", dir, im, strings.Join(may, ", "))
				}
			}
		}
	}
	if main := all["."]; !slices.Equal(main, []string{"os", "cellar/internal/cli"}) && !slices.Equal(main, []string{"cellar/internal/cli", "os"}) {
		t.Errorf("main.go imports %v; it only calls internal/cli", main)
	}
}

// An arrow the table lacks, or a package it does not list, is found; a listed one is
// not.
func TestAnArrowOutsideTheTableFails(t *testing.T) {
	table := map[string][]string{"engine": {"spaces"}, "spaces": {}}
	all := map[string][]string{
		"engine":   {"fmt", "cellar/spaces", "cellar/storage"},
		"spaces":   {"fmt"},
		"newthing": {"cellar/spaces"},
	}
	got := outside(all, table)
	want := []string{"engine imports storage, an arrow docs/internals.md's table does not have",
		"newthing is not in docs/internals.md's table of arrows: add its row"}
	if !slices.Equal(got, want) {
		t.Errorf("problems %q, want %q", got, want)
	}
}
