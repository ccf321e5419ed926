//go:build !unix && !windows

package storage

import "os"

// sharedLock takes no lock where there is no flock; check and salvage then read a
// file a search may be writing (bbolt's own lock still keeps two searches apart).
func sharedLock(*os.File) error { return nil }

// holder cannot name the holder here.
func holder(string) string { return "" }
