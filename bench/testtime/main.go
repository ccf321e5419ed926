// Command testtime reads `go test -json` from standard input and prints where the
// time went: each package's time, the slowest tests, and any failure. bench/testtime.sh
// runs it on the quick loop and the full suite.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is the part of go test -json's test2json events this reads.
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
}

type timing struct {
	name    string
	seconds float64
	action  string
}

func main() {
	top := flag.Int("top", 10, "how many of the slowest tests to list")
	packages := flag.Int("packages", 10, "how many of the slowest packages to list")
	flag.Parse()
	pkgs, tests, err := read(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testtime:", err)
		os.Exit(2)
	}
	failed := 0
	for _, p := range pkgs {
		if p.action == "fail" {
			failed++
		}
	}
	fmt.Printf("slowest packages (of %d):\n", len(pkgs))
	for _, p := range head(pkgs, *packages) {
		fmt.Printf("  %7.1f s  %s%s\n", p.seconds, p.name, mark(p.action))
	}
	fmt.Printf("slowest tests (of %d):\n", len(tests))
	for _, t := range head(tests, *top) {
		fmt.Printf("  %7.1f s  %s%s\n", t.seconds, t.name, mark(t.action))
	}
	if failed > 0 {
		fmt.Printf("%d packages failed:", failed)
		for _, p := range pkgs {
			if p.action == "fail" {
				fmt.Printf(" %s", p.name)
			}
		}
		fmt.Println()
		os.Exit(1)
	}
}

// read collects every package's and every top-level test's final event.
func read(r io.Reader) (pkgs, tests []timing, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil { // build output between the events
			continue
		}
		if e.Action != "pass" && e.Action != "fail" && e.Action != "skip" {
			continue
		}
		switch {
		case e.Test == "":
			pkgs = append(pkgs, timing{e.Package, e.Elapsed, e.Action})
		case !strings.Contains(e.Test, "/"):
			tests = append(tests, timing{e.Package + " " + e.Test, e.Elapsed, e.Action})
		}
	}
	return pkgs, tests, sc.Err()
}

// head sorts ts slowest first and returns at most n of them.
func head(ts []timing, n int) []timing {
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].seconds > ts[j].seconds })
	return ts[:min(n, len(ts))]
}

func mark(action string) string {
	if action == "pass" {
		return ""
	}
	return "  (" + action + ")"
}
