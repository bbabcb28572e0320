package app

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
