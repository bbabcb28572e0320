// Package servefeed writes the feed the serving benchmarks fetch (feeds' BenchmarkServe, app's
// BenchmarkServeVsNginx), so both measure the same files. It is apart from feedstest because it
// needs package feeds to build the index, and feeds' own internal tests import feedstest.
package servefeed

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
)

// Big is the file name of the one large package Write puts into the feed.
const Big = "big_1.0-1_x86_64.ipk"

// Write makes dir an x86_64 opkg feed of what routers fetch: the Packages.gz of 100 generated
// packages (≈6 KB, a large personal feed) and one package, Big, with payload as its data.
func Write(tb testing.TB, dir string, payload []byte) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	var pkgs []feeds.Package
	for i := range 100 {
		c, err := feeds.ParseControl([]byte(feedstest.Control(feedstest.GeneratedName(i), "1.0-1", "x86_64")))
		if err != nil {
			tb.Fatal(err)
		}
		pkgs = append(pkgs, feeds.Package{Filename: feedstest.GeneratedName(i) + "_1.0-1_x86_64.ipk", Size: 4096, SHA256: strings.Repeat("ab", 32), Control: c})
	}
	ix, err := feeds.BuildIndex(pkgs, feeds.IndexOptions{Arch: "x86_64"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Packages.gz"), ix.PackagesGz, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, Big), feedstest.IPK(feedstest.Control("big", "1.0-1", "x86_64"), payload), 0o644); err != nil {
		tb.Fatal(err)
	}
}
