// Package atomicfile replaces small files whole: a reader, or the file after a
// kill -9 or a power cut, holds the old contents or the new, never part of either.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Replace writes b to path through a temporary file beside it, synced to disk before it
// is renamed over path (a rename within one directory is atomic). The temporary file
// is removed if anything fails.
func Replace(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
