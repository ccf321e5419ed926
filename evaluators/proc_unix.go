//go:build unix && !linux

package evaluators

import (
	"os"
	"syscall"
)

// groupAttr starts a command in a process group of its own, so that ending it ends
// everything it started.
func groupAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to the command's whole process group.
func signalGroup(p *os.Process, sig syscall.Signal) error { return syscall.Kill(-p.Pid, sig) }
