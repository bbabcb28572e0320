package main

import (
	"context"
	"fmt"
	"io"
)

// runBuild is not built yet; the issue that adds it replaces this file.
func runBuild(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "openwrt-ppa build: not available in this version yet")
	return 2
}
