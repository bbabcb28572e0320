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
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest/servefeed"
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
	root := b.TempDir()
	servefeed.Write(b, filepath.Join(root, "o", "r", "main", "24.10", "x86_64"), incompressible(200<<10))
	ours := testenv.FreeAddr(b)
	sb.StartHelper(b, "TestHelperFeedServer", "OPENWRT_PPA_HELPER_SERVE="+root+","+ours, ours)
	nginx := sb.StartNginx(b, root)
	sb.CompareFiles(b, ours, nginx, "/o/r/main/24.10/x86_64", "Packages.gz", servefeed.Big)
}
