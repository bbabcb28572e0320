package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version and commit are stamped by the Makefile (-ldflags -X) so that a bug report names the
// build; a plain `go build` or `go install` falls back to what the Go toolchain recorded.
var (
	version = ""
	commit  = ""
)

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "openwrt-ppa", versionString())
	return 0
}

// versionString is the stamped version and commit, else the module version and VCS revision
// from the build info, else "(devel)".
func versionString() string {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if c != "" && c != v {
		return v + " " + c
	}
	return v
}
