package feeds_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apktest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
)

// benchAPKPackages is the size of the generated apk feed (OPENWRT_PPA_BENCH_APK_PACKAGES,
// default 2,000).
func benchAPKPackages(b *testing.B) int { return benchSize(b, "OPENWRT_PPA_BENCH_APK_PACKAGES", 2000) }

// BenchmarkAPKIndexFull indexes a generated folder of .apk packages (what `openwrt-ppa index`
// does), signing included. When an apk binary is given in OPENWRT_PPA_APK (apk-tools 3.0.x,
// e.g. built from its source), it runs `apk mkndx` once on the same folder, as the SDK does,
// checks that its ADB block is byte for byte ours, and reports how many times faster ours is.
func BenchmarkAPKIndexFull(b *testing.B) {
	n := benchAPKPackages(b)
	dir := b.TempDir()
	if _, err := apktest.WriteAPKFeed(dir, n, "x86_64", 2048); err != nil {
		b.Fatal(err)
	}
	key, _ := apksign.Generate(nil)
	ctx := context.Background()
	var res *feeds.APKDirResult
	for b.Loop() {
		var err error
		if res, err = feeds.IndexAPKDir(ctx, dir, feeds.APKDirOptions{Signer: key}); err != nil || len(res.Refused) > 0 {
			b.Fatal(err, res.Refused)
		}
	}
	ours := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(ours.Microseconds())/1000, "ms/index")

	apk := os.Getenv("OPENWRT_PPA_APK")
	if apk == "" {
		b.Logf("OPENWRT_PPA_APK is not set: no comparison with apk mkndx")
		return
	}
	sec, _ := key.MarshalPEM()
	keyFile := filepath.Join(b.TempDir(), "key.pem")
	os.WriteFile(keyFile, sec, 0o600)
	out := filepath.Join(b.TempDir(), "mkndx.adb")
	names, _ := filepath.Glob(filepath.Join(dir, "*.apk"))
	cmd := exec.Command(apk, append([]string{"mkndx", "--allow-untrusted", "--sign-key", keyFile, "-o", out}, names...)...)
	start := time.Now()
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("apk mkndx: %v\n%s", err, msg)
	}
	theirs := time.Since(start)
	f := readADBFile(b, out)
	if !bytes.Equal(f.ADB, res.Index.ADB) {
		b.Fatalf("apk mkndx wrote another ADB block (%d bytes, ours %d)", len(f.ADB), len(res.Index.ADB))
	}
	b.ReportMetric(theirs.Seconds()*1000, "ms/mkndx")
	b.ReportMetric(float64(theirs)/float64(ours), "x-faster-than-mkndx")
	b.Logf("%d packages: ours %v, apk mkndx %v (same ADB block): %.1f× faster", n, ours, theirs, float64(theirs)/float64(ours))
}

// BenchmarkAPKRepublishOne publishes one changed package into an apk feed of 2,000 (signing
// included), the common case of a push that rebuilt one package. Goal: ≤ 50 ms, as for opkg;
// "x-of-goal" is the time as a fraction of it.
func BenchmarkAPKRepublishOne(b *testing.B) {
	for _, sync := range []bool{false, true} {
		b.Run("sync="+strconv.FormatBool(sync), func(b *testing.B) {
			n := benchAPKPackages(b)
			src := b.TempDir()
			paths, err := apktest.WriteAPKFeed(src, n, "x86_64", 2048)
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
			key, _ := apksign.Generate(nil)
			ctx := context.Background()
			ref := feeds.FeedRef{Owner: "o", Repo: "r", Name: "main", Series: "25.12", Arch: "x86_64"}
			if _, err := store.Publish(ctx, ref, feeds.PublishRequest{Format: feeds.FormatAPK, ADBSigner: key, Add: paths}); err != nil {
				b.Fatal(err)
			}
			// Two builds of a new version that differ: each publish replaces the other.
			variants := make([]string, 2)
			for i := range variants {
				variants[i] = filepath.Join(src, fmt.Sprintf("changed-%d.apk", i))
				apk, err := apktest.APK(feedstest.GeneratedName(n/2), "9.9-r1", "x86_64", []byte(fmt.Sprint("build ", i)))
				if err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(variants[i], apk, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				res, err := store.Publish(ctx, ref, feeds.PublishRequest{Format: feeds.FormatAPK, ADBSigner: key, Add: []string{variants[i%2]}})
				if err != nil || len(res.Added) != 1 || len(res.Index) != n {
					b.Fatalf("republish: %v %+v", err, res)
				}
				i++
			}
			ms := float64(b.Elapsed().Microseconds()) / float64(b.N) / 1000
			b.ReportMetric(ms, "ms/republish")
			b.ReportMetric(ms/50, "x-of-goal")
		})
	}
}
