package main

import (
	"context"
	"fmt"
	"io"
)

// runKeys is not built yet; the issue that adds it replaces this file.
func runKeys(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "openwrt-ppa keys: not available in this version yet")
	return 2
}
