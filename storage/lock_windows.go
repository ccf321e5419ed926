//go:build windows

package storage

import (
	"os"

	"golang.org/x/sys/windows"
)

// sharedLock takes a shared lock on f's first byte without waiting: bbolt locks the
// same byte, exclusively for a writer, so this fails while a search holds the file.
func sharedLock(f *os.File) error {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}

// holder cannot name the holder on Windows.
func holder(string) string { return "" }
