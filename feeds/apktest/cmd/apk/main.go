// Command apk is the SDK stand-in's `apk` (a TEST FIXTURE, not Alpine's apk): it knows only
// `apk mkpkg`, with the options OpenWrt's include/package-pack.mk gives it, and writes the
// package with the project's own apk v3 writer (feeds/apktest.Mkpkg). internal/testenv builds
// it statically into the stand-in image as /bin/apk, so the stand-in makes .apk packages for
// apk series where the real 25.12 SDK runs its apk.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/apktest"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "mkpkg" {
		fmt.Fprintln(os.Stderr, "apk (openwrt-ppa SDK stand-in): only `apk mkpkg --info KEY:VALUE… --files DIR --output FILE` is supported")
		os.Exit(2)
	}
	if err := apktest.Mkpkg(context.Background(), os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "apk:", err)
		os.Exit(1)
	}
}
