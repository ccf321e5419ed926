package evaluators

import (
	"os"
	"syscall"
)

// groupAttr starts a command in a process group of its own, so that ending it ends
// everything it started, and asks the kernel to kill it should cellar die without a
// word (kill -9): the parent-death signal. That signal follows the OS thread that
// started the program, and Go ends a thread only when a goroutine exits locked to it,
// which nothing in cellar does (gorgonia's tape machine unlocks as it returns).
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the command's whole process group.
func signalGroup(p *os.Process, sig syscall.Signal) error { return syscall.Kill(-p.Pid, sig) }
