// Package atomicfile writes files whole or not at all: through a temporary name in the same
// folder, synced, then renamed, so a crash never leaves half a key or half an index.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile writes data to path with mode, replacing any file there in one step.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
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
