package main

import (
	"context"
	"fmt"
	"io"
)

// runIndex is not built yet; the issue that adds it replaces this file.
func runIndex(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "openwrt-ppa index: not available in this version yet")
	return 2
}
