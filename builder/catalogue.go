package builder

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

//go:embed catalogue.json
var catalogueJSON []byte

// Package formats an SDK writes.
const (
	FormatIPK = "ipk"
	FormatAPK = "apk"
)

// Catalogue maps release series and architectures to SDK images. It is read-only once loaded.
type Catalogue struct {
	Registry string                `json:"registry"`
	Series   map[string]SeriesInfo `json:"series"`
	Archs    []string              `json:"archs"`
	Targets  map[string]string     `json:"targets"`
	Comment  string                `json:"_comment"`
}

// SeriesInfo is one release series of the catalogue.
type SeriesInfo struct {
	Release   string  `json:"release"`    // the newest point release known to the table, e.g. "24.10.6"
	Format    string  `json:"format"`     // FormatIPK or FormatAPK
	IndexJSON int     `json:"index_json"` // the index.json version this series' SDK writes (apk feeds: always 2)
	TagSuffix *string `json:"tag_suffix"` // overrides "-<release>" in the image tag; "" for snapshot
	// ArchsExtra are the architectures only this series has SDK images for (25.12 dropped
	// mips_4kec and renamed riscv64_riscv64 to riscv64_generic).
	ArchsExtra []string `json:"archs_extra"`
	// releases are the newest point releases the registry has, per arch (WithTags).
	releases map[string]arcRelease
}

// arcRelease is the newest point release of an arch in the registry, and its image tag.
type arcRelease struct{ release, tag string }

// LoadCatalogue returns the catalogue embedded in the binary.
func LoadCatalogue() (*Catalogue, error) {
	var c Catalogue
	if err := json.Unmarshal(catalogueJSON, &c); err != nil {
		return nil, fmt.Errorf("reading the embedded SDK catalogue: %w", err)
	}
	return &c, nil
}

// ImageOptions change where images come from.
type ImageOptions struct {
	// Registry replaces the catalogue's image repository (a mirror), e.g. "mirror.local/openwrt/sdk".
	Registry string
	// Image, when set, is used for every job as is (e.g. the test stand-in).
	Image string
}

// SDKImage is the image that builds one (series, arch).
type SDKImage struct {
	Ref       string // image reference to run
	Series    string
	Release   string
	Arch      string
	Format    string
	IndexJSON int
}

// SeriesNames lists the catalogue's series, sorted.
func (c *Catalogue) SeriesNames() []string {
	out := make([]string, 0, len(c.Series))
	for s := range c.Series {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// ArchsOf lists the architectures series has SDK images for, sorted.
func (c *Catalogue) ArchsOf(series string) []string {
	out := slices.Clone(c.Archs)
	if info, ok := c.Series[series]; ok {
		out = append(out, info.ArchsExtra...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TargetArch returns the package architecture of "target/subtarget".
func (c *Catalogue) TargetArch(target string) (string, error) {
	a, ok := c.Targets[target]
	if !ok {
		return "", fmt.Errorf("target %q is not in the SDK catalogue; use archs with its package architecture instead", target)
	}
	return a, nil
}

// Image resolves the SDK image for series and arch; its Format says which packages it builds.
func (c *Catalogue) Image(series, arch string, opt ImageOptions) (SDKImage, error) {
	info, ok := c.Series[series]
	if !ok {
		return SDKImage{}, fmt.Errorf("series %q is not in the SDK catalogue; use one of %s", series, strings.Join(c.SeriesNames(), ", "))
	}
	if archs := c.ArchsOf(series); !slices.Contains(archs, arch) {
		return SDKImage{}, fmt.Errorf("arch %q has no SDK image for %s in the catalogue; use one of %s", arch, series, strings.Join(archs, ", "))
	}
	release, tag := info.Release, arch+"-"+info.Release
	if r, ok := info.releases[arch]; ok {
		release, tag = r.release, r.tag
	}
	if info.TagSuffix != nil {
		tag = arch + *info.TagSuffix
	}
	repo := c.Registry
	if opt.Registry != "" {
		repo = strings.TrimSuffix(opt.Registry, "/")
	}
	img := SDKImage{Ref: repo + ":" + tag, Series: series, Release: release, Arch: arch, Format: info.Format, IndexJSON: info.IndexJSON}
	if opt.Image != "" {
		img.Ref = opt.Image
	}
	return img, nil
}
