package main

import (
	"context"
	"fmt"
	"io"
)

// runServe is not built yet; the issue that adds it replaces this file.
func runServe(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "openwrt-ppa serve: not available in this version yet")
	return 2
}
