package main

import (
	"context"
	"fmt"
	"io"
)

// runKeygen is not built yet; the issue that adds it replaces this file.
func runKeygen(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "openwrt-ppa keygen: not available in this version yet")
	return 2
}
