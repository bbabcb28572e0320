package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ArtifactsRoot holds one folder of built packages per content key.
func (d Dir) ArtifactsRoot() string { return filepath.Join(d.Cache(), "artifacts") }

// Artifacts is where a job's built packages are kept, so that a later identical job can publish
// them without building. name is the job's content key.
func (d Dir) Artifacts(name string) (string, error) {
	if name == "" || strings.Trim(name, "0123456789abcdef") != "" {
		return "", fmt.Errorf("artifact folder name %q is not a content key", name)
	}
	return filepath.Join(d.ArtifactsRoot(), name), nil
}

// ArtifactFiles lists the package files (.ipk, .apk) kept under name.
func (d Dir) ArtifactFiles(name string) ([]string, error) {
	dir, err := d.Artifacts(name)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if e.Type().IsRegular() && isPackageFile(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// KeepArtifacts moves a job's built package files into its artifacts folder and returns their
// new paths; without a content key (a result that may not be reused) the files stay where they
// are. The folder holds exactly this run's files: they are moved into a fresh folder that then
// replaces the old one, so nothing an earlier run left is published again with them. Names come
// from the collector, which only lets plain package file names through; they are checked again
// here before they become paths.
func (d Dir) KeepArtifacts(name string, files []string) ([]string, error) {
	if name == "" {
		return files, nil
	}
	dir, err := d.Artifacts(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.ArtifactsRoot(), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(d.ArtifactsRoot(), ".new-"+name[:min(len(name), 12)]+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // left only when something failed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	var bases []string
	for _, f := range files {
		base := filepath.Base(f)
		if base == "." || base == ".." || strings.ContainsAny(base, "/\\") || !isPackageFile(base) {
			continue
		}
		if err := os.Rename(f, filepath.Join(tmp, base)); err != nil {
			return nil, fmt.Errorf("keeping built package %s: %w", base, err)
		}
		bases = append(bases, base)
	}
	// A folder cannot be renamed over a full one: the old one steps aside first. A reuse that
	// looks in between finds nothing and builds instead.
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("replacing kept packages: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("keeping built packages: %w", err)
	}
	_ = os.RemoveAll(old)
	out := make([]string, len(bases))
	for i, b := range bases {
		out[i] = filepath.Join(dir, b)
	}
	return out, nil
}

// isPackageFile: an opkg (.ipk) or apk (.apk) package, what the builder collects.
func isPackageFile(name string) bool {
	return strings.HasSuffix(name, ".ipk") || strings.HasSuffix(name, ".apk")
}
