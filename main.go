// Command cellar is a terminal workbench for neural architecture search. See README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "cellar:", err)
		os.Exit(1)
	}
}
