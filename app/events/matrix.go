package events

import (
	"path"
	"slices"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// cell is one (series, arch) of a build's matrix: one job, one check.
type cell struct {
	Series string
	Arch   string
	Image  string
}

func (c cell) name() string { return c.Series + "/" + c.Arch }

// matrix expands a configuration into cells. Packages are not known here — the worker finds
// them in the checkout — so this is the configuration's matrix only.
func matrix(cfg builder.Config, cat *builder.Catalogue, opt builder.ImageOptions) ([]cell, error) {
	archs := slices.Clone(cfg.Archs)
	for _, t := range cfg.Targets {
		a, err := cat.TargetArch(t)
		if err != nil {
			return nil, &builder.ConfigError{File: builder.ConfigFile, Msg: "targets: " + err.Error()}
		}
		if !slices.Contains(archs, a) {
			archs = append(archs, a)
		}
	}
	if len(cfg.Series) == 0 || len(archs) == 0 {
		return nil, &builder.ConfigError{File: builder.ConfigFile, Msg: "the build matrix is empty: give at least one series and one arch or target"}
	}
	var cells []cell
	for _, s := range cfg.Series {
		for _, a := range archs {
			img, err := cat.Image(s, a, opt)
			if err != nil {
				return nil, &builder.ConfigError{File: builder.ConfigFile, Msg: err.Error()}
			}
			cells = append(cells, cell{Series: s, Arch: a, Image: img.Ref})
		}
	}
	return cells, nil
}

// branchBuilds reports whether pushes to branch build, by the configuration's globs or, without
// any, by being the default branch.
func branchBuilds(globs []string, branch, defaultBranch string) bool {
	if len(globs) == 0 {
		return branch == defaultBranch
	}
	for _, g := range globs {
		if ok, err := path.Match(g, branch); err == nil && ok {
			return true
		}
	}
	return false
}
