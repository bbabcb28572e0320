package main

import (
	"context"
	"fmt"
	"io"
)

// runWorker is not built yet; the issue that adds it replaces this file.
func runWorker(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "openwrt-ppa worker: not available in this version yet")
	return 2
}
