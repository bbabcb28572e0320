package datadir

import (
	"fmt"
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

// ArtifactFiles lists the .ipk files kept under name.
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
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".ipk") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	return files, nil
}

// KeepArtifacts moves a job's built package files into its artifacts folder and returns their
// new paths. Names come from the collector, which only lets plain package file names through;
// they are checked again here before they become paths.
func (d Dir) KeepArtifacts(name string, files []string) ([]string, error) {
	dir, err := d.Artifacts(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		base := filepath.Base(f)
		if base == "." || base == ".." || strings.ContainsAny(base, "/\\") || !strings.HasSuffix(base, ".ipk") {
			continue
		}
		dst := filepath.Join(dir, base)
		if err := os.Rename(f, dst); err != nil {
			return nil, fmt.Errorf("keeping built package %s: %w", base, err)
		}
		out = append(out, dst)
	}
	return out, nil
}
