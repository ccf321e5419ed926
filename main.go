// Command cellar is a terminal workbench for neural architecture search. See README.md.
package main

import (
	"os"

	"cellar/internal/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stderr))
}
