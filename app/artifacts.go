package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

// artifactsDir is where a job's built packages are kept (under the data dir's cache), so that a
// later identical job can publish them without building. name is the job's content key.
func (s *Service) artifactsDir(name string) (string, error) {
	if name == "" || strings.Trim(name, "0123456789abcdef") != "" {
		return "", fmt.Errorf("artifact folder name %q is not a content key", name)
	}
	return filepath.Join(s.cfg.Data, "cache", "artifacts", name), nil
}

// artifactFiles lists the .ipk files kept under name.
func (s *Service) artifactFiles(name string) ([]string, error) {
	dir, err := s.artifactsDir(name)
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

// keepArtifacts moves a job's built package files into its artifacts folder and returns their
// new paths. Names come from the collector, which only lets plain package file names through;
// they are checked again here before they become paths.
func (s *Service) keepArtifacts(name string, files []string) ([]string, error) {
	dir, err := s.artifactsDir(name)
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

// annotate adds what the feed says of each built package (version, size, checksum) to the job's
// result, and marks packages the feed refused.
func annotate(jr *jobResult, index []feeds.PackageInfo, refused []feeds.Refusal) {
	byName := map[string]feeds.PackageInfo{}
	for _, p := range index {
		byName[p.Name] = p
	}
	for i := range jr.Packages {
		p := &jr.Packages[i]
		if info, ok := byName[p.Name]; ok && p.Status == "built" {
			p.Version, p.Size, p.SHA256, p.File = info.Version, info.Size, info.SHA256, info.Filename
		}
	}
	for _, r := range refused {
		jr.Packages = append(jr.Packages, packageResult{Name: r.Package, File: filepath.Base(r.File), Status: "refused", Note: r.Reason})
	}
}
