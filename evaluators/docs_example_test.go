package evaluators_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"cellar/datasets"
	"cellar/internal/enginetest"
)

// The cascades docs/benchmarks.md gives users to copy build as they are. They
// train on Fashion-MNIST, which is a Debian package (.ci/run installs it).
func TestBenchmarksDocCascadesBuild(t *testing.T) {
	if _, err := datasets.Load("fashion-mnist", ""); err != nil {
		t.Skipf("%v; skipping", err) // the error says what to install
	}
	doc, err := os.ReadFile("../docs/benchmarks.md")
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		if !strings.Contains(m[1], "name: cascade") {
			continue
		}
		enginetest.Build(t, m[1]) // fails the test with the config's error
		built++
	}
	if built == 0 {
		t.Fatal("no cascade example in docs/benchmarks.md")
	}
}
