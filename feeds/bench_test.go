package feeds_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

// benchPackages is the size of the generated feed (OPENWRT_PPA_BENCH_PACKAGES, default 10,000).
func benchPackages(b *testing.B) int { return benchSize(b, "OPENWRT_PPA_BENCH_PACKAGES", 10000) }

// benchSize is the positive number in the environment variable env, else def.
func benchSize(b *testing.B, env string, def int) int {
	if v := os.Getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q is not a positive number", env, v)
		}
		return n
	}
	return def
}

// BenchmarkIndexFull indexes a generated feed from its .ipk files (what `openwrt-ppa index`
// does) and, when OpenWrt's ipkg-make-index.sh is available (see sdkScriptOrEmpty), runs it once
// on the same folder plus the SDK's grep and gzip -9n, side by side: the manifest it writes must
// be ours byte for byte, and the benchmark reports how many times faster ours is.
func BenchmarkIndexFull(b *testing.B) {
	n := benchPackages(b)
	dir := b.TempDir()
	if _, err := feedstest.WriteFeed(dir, n, "mips_24kc", 2048); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var res *feeds.DirResult
	for b.Loop() {
		var err error
		if res, err = feeds.IndexDir(ctx, dir, feeds.DirOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	ours := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(ours.Milliseconds()), "ms/index")

	script, mkhash := sdkScriptOrEmpty(b)
	if script == "" {
		b.Logf("OpenWrt's ipkg-make-index.sh not found: no SDK comparison (see sdkScript)")
		return
	}
	sh := fmt.Sprintf(`MKHASH=%q bash %q . > Packages.manifest 2>/dev/null && grep -vE '^(Maintainer|LicenseFiles|Source|SourceName|Require|SourceDateEpoch)' Packages.manifest > Packages && gzip -9nc Packages > Packages.gz`, mkhash, script)
	cmd := exec.Command("sh", "-c", sh)
	cmd.Dir = dir
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("SDK script: %v\n%s", err, out)
	}
	sdk := time.Since(start)
	if theirs, err := os.ReadFile(filepath.Join(dir, "Packages.manifest")); err != nil || !bytes.Equal(theirs, res.Index.Manifest) {
		b.Fatalf("Packages.manifest differs from ipkg-make-index.sh's (%d bytes, ours %d): %v", len(theirs), len(res.Index.Manifest), err)
	}
	b.ReportMetric(sdk.Seconds(), "s/sdk-index")
	b.ReportMetric(float64(sdk)/float64(ours), "x-faster-than-sdk")
	b.Logf("%d packages: ours %v, SDK's ipkg-make-index.sh %v: %.0f× faster", n, ours, sdk, float64(sdk)/float64(ours))
}

// sdkScriptOrEmpty returns OpenWrt's scripts/ipkg-make-index.sh when a copy was put at
// $OPENWRT_PPA_IPKG_MAKE_INDEX (default /tmp/ipkgbench/ipkg-make-index.sh), and a MKHASH for it
// (OpenWrt's mkhash prints the bare digest, as sha256sum does). The project does not ship
// OpenWrt's script; without it there is no comparison.
func sdkScriptOrEmpty(b *testing.B) (string, string) {
	var script, mkhash string
	p := os.Getenv("OPENWRT_PPA_IPKG_MAKE_INDEX")
	if p == "" {
		p = "/tmp/ipkgbench/ipkg-make-index.sh"
	}
	if _, err := os.Stat(p); err != nil {
		return "", ""
	}
	script = p
	mkhash = filepath.Join(b.TempDir(), "mkhash")
	if err := os.WriteFile(mkhash, []byte("#!/bin/sh\nsha256sum \"$2\" | cut -d' ' -f1\n"), 0o755); err != nil {
		b.Fatal(err)
	}
	return script, mkhash
}

// BenchmarkRepublishOne publishes one changed package into a feed of 10,000 (signing included),
// the common case of a push that rebuilt one package. Target: ≤ 50 ms.
func BenchmarkRepublishOne(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run("sync="+strconv.FormatBool(sync), func(b *testing.B) {
			n := benchPackages(b)
			src := b.TempDir()
			paths, err := feedstest.WriteFeed(src, n, "x86_64", 2048)
			if err != nil {
				b.Fatal(err)
			}
			for i := range paths {
				paths[i] = filepath.Join(src, paths[i])
			}
			store, err := feeds.OpenStore(b.TempDir(), feeds.StoreOptions{Sync: sync, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			key, _ := usign.Generate(nil, "bench")
			ctx := context.Background()
			ref := feeds.FeedRef{Owner: "o", Repo: "r", Name: "main", Series: "24.10", Arch: "x86_64"}
			if _, err := store.Publish(ctx, ref, feeds.PublishRequest{Add: paths, Signer: key}); err != nil {
				b.Fatal(err)
			}
			// Two builds of the same version that differ: each publish replaces the other.
			variants := make([]string, 2)
			for i := range variants {
				variants[i] = filepath.Join(src, fmt.Sprintf("changed-%d.ipk", i))
				ipk := feedstest.IPK(feedstest.Control(feedstest.GeneratedName(n/2), "9.9-1", "x86_64"), []byte(fmt.Sprint("build ", i)))
				if err := os.WriteFile(variants[i], ipk, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				res, err := store.Publish(ctx, ref, feeds.PublishRequest{Add: []string{variants[i%2]}, Signer: key})
				if err != nil || len(res.Added) != 1 || len(res.Index) != n {
					b.Fatalf("republish: %v %+v", err, res.Refused)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/republish")
		})
	}
}

// incompressible returns n random bytes (a package payload gzip cannot shrink).
func incompressible(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
