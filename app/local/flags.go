package local

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// FlagError is a mistake in the command line (--series, --arch, …), not in the repository's
// configuration: the command exits with the usage status.
type FlagError struct {
	Flag string // without dashes
	Msg  string
}

func (e *FlagError) Error() string { return "--" + e.Flag + " " + e.Msg }

// CheckFlags checks --series and --arch against the SDK catalogue. cfgSeries are the series of
// the repository's configuration, which --arch must suit when no --series is given; nil when it
// is not read yet (then an arch is checked against every series).
func CheckFlags(cat *builder.Catalogue, series, archs, cfgSeries []string) error {
	known := cat.SeriesNames()
	for _, s := range series {
		if !slices.Contains(known, s) {
			return &FlagError{Flag: "series", Msg: fmt.Sprintf("%q is not a series the SDK catalogue knows: use one of %s", s, strings.Join(known, ", "))}
		}
	}
	against := series
	if len(against) == 0 {
		for _, s := range cfgSeries {
			if slices.Contains(known, s) { // an unknown one is the configuration's mistake, reported as such
				against = append(against, s)
			}
		}
	}
	for _, a := range archs {
		if len(against) == 0 {
			var all []string
			for _, s := range known {
				all = append(all, cat.ArchsOf(s)...)
			}
			slices.Sort(all)
			all = slices.Compact(all)
			if !slices.Contains(all, a) {
				return &FlagError{Flag: "arch", Msg: fmt.Sprintf("%q is not an arch the SDK catalogue has images for: use one of %s", a, strings.Join(all, ", "))}
			}
			continue
		}
		for _, s := range against {
			if valid := cat.ArchsOf(s); !slices.Contains(valid, a) {
				return &FlagError{Flag: "arch", Msg: fmt.Sprintf("%q has no SDK image for series %s: use one of %s", a, s, strings.Join(valid, ", "))}
			}
		}
	}
	return nil
}
