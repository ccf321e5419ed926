package evaluators

import (
	"os"
	"syscall"
)

func groupAttr() *syscall.SysProcAttr { return nil }

// signalGroup ends the command: Windows has no signals to give it a grace period.
func signalGroup(p *os.Process, _ syscall.Signal) error { return p.Kill() }
