package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// helperServeEnv makes the test binary a serve process (DATA,ADDR) for BenchmarkServeVsNginx,
// which pins it to a CPU as it does nginx.
const helperServeEnv = "OPENWRT_PPA_HELPER_APP_SERVE"

// TestHelperAppServer is not a test: it is the service BenchmarkServeVsNginx measures.
func TestHelperAppServer(t *testing.T) {
	spec := os.Getenv(helperServeEnv)
	if spec == "" {
		t.Skip("helper process for BenchmarkServeVsNginx")
	}
	data, addr, _ := strings.Cut(spec, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rt, err := app.Open(ctx, serveBenchConfig(data, addr), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	web, err := rt.Web()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Serve(ctx, ln, web); err != nil {
		t.Fatal(err)
	}
}

func serveBenchConfig(data, addr string) app.Config {
	return app.Config{Data: data, Listen: addr, Network: "none", Workers: 0, JobTimeout: time.Minute,
		QueueLimit: 100, KeepBuilds: 20, PRFeedTTL: time.Hour, ShutdownGrace: time.Second}
}

// BenchmarkServeVsNginx compares what routers fetch, served by the whole service (serve's router,
// the pages' dispatch, the read-token guard of a registered repository, the feed files) and by
// nginx from the same folder: a Packages.gz of 100 packages (≈6 KB) and a 160 KB package, as
// testenv.ServeBench runs them (pinned, alternating rounds, median ratio as x-nginx).
func BenchmarkServeVsNginx(b *testing.B) {
	sb := testenv.NeedServeBench(b)
	data := b.TempDir()
	feed := filepath.Join(data, "feeds", "alice", "pkgs", "main", "24.10", "x86_64")
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
	big := make([]byte, 160<<10)
	for i := range big {
		big[i] = byte(i*7919 + i>>8) // little to compress, as a package's payload
	}
	if err := os.WriteFile(filepath.Join(feed, "Packages.gz"), ix.PackagesGz, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(feed, "big_1.0-1_x86_64.ipk"), feedstest.IPK(feedstest.Control("big", "1.0-1", "x86_64"), big), 0o644); err != nil {
		b.Fatal(err)
	}
	// The repository is registered, so the read-token guard looks it up as for any feed.
	addr := testenv.FreeAddr(b)
	rt, err := app.Open(context.Background(), serveBenchConfig(data, addr), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	_, err = rt.Store.PutRepository(context.Background(), store.Repository{Forge: "github", ForgeID: "1", Owner: "alice", Name: "pkgs", DefaultBranch: "main"})
	if cerr := rt.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	self, _ := os.Executable()
	ours := sb.Pinned(self, "-test.run", "^TestHelperAppServer$")
	ours.Env = append(os.Environ(), helperServeEnv+"="+data+","+addr)
	testenv.StartServer(b, ours, addr)
	nginx := sb.StartNginx(b, filepath.Join(data, "feeds"))

	for _, file := range []string{"Packages.gz", "big_1.0-1_x86_64.ipk"} {
		path := "/alice/pkgs/main/24.10/x86_64/" + file
		b.Run(file, func(b *testing.B) {
			for b.Loop() {
				sb.Compare(b, file, "http://"+addr+path, "http://"+nginx+path, 3)
			}
		})
	}
}
