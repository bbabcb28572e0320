package feeds

import (
	"fmt"
	"os"
	"path/filepath"
)

// stageFile writes data to a hidden temporary file beside dst and returns its path; renaming it
// over dst then replaces dst in one step, so a reader sees the old file or the new one, never
// half of one. The temporary name does not end in .ipk, so no index ever picks it up.
func stageFile(dst string, data []byte, sync bool) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("staging %s: %w", dst, err)
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("staging %s: %w", dst, err)
	}
	return tmp, nil
}

// writeFileAtomic replaces dst with data in one step.
func writeFileAtomic(dst string, data []byte, sync bool) error {
	tmp, err := stageFile(dst, data, sync)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", dst, err)
	}
	return nil
}

// syncDir makes renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
