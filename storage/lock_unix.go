//go:build unix

package storage

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// sharedLock takes a shared lock on f without waiting, as bbolt's readers do: it
// fails while a search (bbolt's exclusive lock) holds the file.
func sharedLock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
}

// holder names the process that holds a lock on path, from /proc/locks (Linux), as
// " (held by pid N: command)"; "" when it cannot be found.
func holder(path string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return ""
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return ""
	}
	defer f.Close()
	suffix := ":" + strconv.FormatUint(st.Ino, 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// e.g. "1: FLOCK  ADVISORY  WRITE 12345 fd:01:6815758 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.HasSuffix(fields[5], suffix) {
			continue
		}
		pid := fields[4]
		cmd, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		name := strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
		if name == "" {
			return " (held by pid " + pid + ")"
		}
		return " (held by pid " + pid + ": " + name + ")"
	}
	return ""
}
