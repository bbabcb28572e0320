package app_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest/servefeed"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// helperServeEnv makes the test binary a serve process (DATA,ADDR) for BenchmarkServeVsNginx,
// which pins it to a CPU as it does nginx.
const helperServeEnv = "OPENWRT_PPA_HELPER_APP_SERVE"

// TestHelperAppServer is not a test: it is the service BenchmarkServeVsNginx measures.
func TestHelperAppServer(t *testing.T) {
	serveAsHelper(t, helperServeEnv, "BenchmarkServeVsNginx", func(spec string) app.Config {
		data, addr, _ := strings.Cut(spec, ",")
		return serveBenchConfig(data, addr)
	})
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
	big := make([]byte, 160<<10)
	for i := range big {
		big[i] = byte(i*7919 + i>>8) // little to compress, as a package's payload
	}
	servefeed.Write(b, filepath.Join(data, "feeds", "alice", "pkgs", "main", "24.10", "x86_64"), big)
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
	sb.StartHelper(b, "TestHelperAppServer", helperServeEnv+"="+data+","+addr, addr)
	nginx := sb.StartNginx(b, filepath.Join(data, "feeds"))
	sb.CompareFiles(b, addr, nginx, "/alice/pkgs/main/24.10/x86_64", "Packages.gz", servefeed.Big)
}
