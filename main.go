// Command cellar is a terminal workbench for neural architecture search. See README.md.
package main

import "os"

func main() {
	os.Exit(execute(os.Args[1:], os.Stderr))
}
