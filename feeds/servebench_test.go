package feeds_test

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestHelperFeedServer is not a test: BenchmarkServe runs the test binary again with
// OPENWRT_PPA_HELPER_SERVE=DIR,ADDR to get a feed server in its own process, which it can pin to
// a CPU with taskset as it does nginx.
func TestHelperFeedServer(t *testing.T) {
	spec := os.Getenv("OPENWRT_PPA_HELPER_SERVE")
	if spec == "" {
		t.Skip("helper process for BenchmarkServe")
	}
	dir, addr, _ := strings.Cut(spec, ",")
	h, err := feeds.NewHandler(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	t.Fatal(srv.ListenAndServe())
}

// BenchmarkServe compares requests per second for Packages.gz and a 200 KB package, served by
// this handler alone and by nginx from the same folder, as testenv.ServeBench runs them
// (app's BenchmarkServeVsNginx does the same through the whole service).
func BenchmarkServe(b *testing.B) {
	sb := testenv.NeedServeBench(b)
	// The feed: the index of 100 packages (Packages.gz ≈ 6 KB, a large personal feed) and one
	// 200 KB package.
	root := b.TempDir()
	feed := filepath.Join(root, "o", "r", "main", "24.10", "x86_64")
	if err := os.MkdirAll(feed, 0o755); err != nil {
		b.Fatal(err)
	}
	var pkgs []feeds.Package
	for i := range 100 {
		c, err := feeds.ParseControl([]byte(feedstest.Control(feedstest.GeneratedName(i), "1.0-1", "x86_64")))
		if err != nil {
			b.Fatal(err)
		}
		pkgs = append(pkgs, feeds.Package{Filename: feedstest.GeneratedName(i) + "_1.0-1_x86_64.ipk", Size: 4096, SHA256: strings.Repeat("ab", 32), Control: c})
	}
	ix, err := feeds.BuildIndex(pkgs, feeds.IndexOptions{Arch: "x86_64"})
	if err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(feed, "Packages.gz"), ix.PackagesGz, 0o644))
	must(os.WriteFile(filepath.Join(feed, "big_1.0-1_x86_64.ipk"), feedstest.IPK(feedstest.Control("big", "1.0-1", "x86_64"), incompressible(200<<10)), 0o644))

	oursAddr := testenv.FreeAddr(b)
	self, _ := os.Executable()
	ours := sb.Pinned(self, "-test.run", "^TestHelperFeedServer$")
	ours.Env = append(os.Environ(), "OPENWRT_PPA_HELPER_SERVE="+root+","+oursAddr)
	testenv.StartServer(b, ours, oursAddr)
	nginxAddr := sb.StartNginx(b, root)

	for _, file := range []string{"Packages.gz", "big_1.0-1_x86_64.ipk"} {
		path := "/o/r/main/24.10/x86_64/" + file
		b.Run(file, func(b *testing.B) {
			for b.Loop() {
				sb.Compare(b, file, "http://"+oursAddr+path, "http://"+nginxAddr+path, 3)
			}
		})
	}
}
