// Package layout keeps the tree's layering (docs/internals.md): imports point down,
// and a few libraries stay with the one package whose job they are.
package layout

import (
	"go/parser"
	"go/token"
	"io/fs"
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

func TestImportsPointDown(t *testing.T) {
	all := imports(t)
	if len(all["engine"]) == 0 || len(all["spaces"]) == 0 {
		t.Fatalf("found no engine or spaces package from %v", all)
	}
	// never[dir] are import path prefixes that dir (and its subdirectories) must not
	// import.
	never := map[string][]string{
		"spaces":     {"cellar/"},
		"datasets":   {"cellar/"},
		"pareto":     {"cellar/"},
		"stats":      {"cellar/"},
		"engine":     {"cellar/evaluators", "cellar/tui", "cellar/storage", "cellar/serve", "cellar/bench", "cellar/internal/cli", "cellar/nn", "cellar/datasets"},
		"nn":         {"cellar/engine", "cellar/evaluators", "cellar/strategies", "cellar/proxies"},
		"storage":    {"cellar/evaluators", "cellar/tui", "cellar/serve"},
		"tui":        {"cellar/evaluators", "cellar/serve", "cellar/internal/cli"},
		"strategies": {"cellar/engine", "cellar/evaluators"},
		"proxies":    {"cellar/engine", "cellar/evaluators", "cellar/strategies"},
	}
	// only[lib] are the directories that may import lib.
	only := map[string][]string{
		"github.com/charmbracelet/bubbletea": {"tui", "serve", "internal/cli"},
		"github.com/charmbracelet/lipgloss":  {"tui", "serve", "themes", "internal/cli"},
		"gorgonia.org/gorgonia":              {"nn", "proxies", "strategies", "evaluators"},
	}
	for dir, ims := range all {
		for base, bad := range never {
			if dir != base && !strings.HasPrefix(dir, base+"/") {
				continue
			}
			for _, im := range ims {
				for _, b := range bad {
					if strings.HasPrefix(im, b) && !(b == "cellar/" && strings.HasPrefix(im, "cellar/"+base)) {
						t.Errorf("%s imports %s, which it must not (docs/internals.md)", dir, im)
					}
				}
			}
		}
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
