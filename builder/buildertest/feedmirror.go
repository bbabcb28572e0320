package buildertest

import (
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// StandinFeedMirror is a feed mirror, in a folder the test removes, serving the standard feeds
// the SDK stand-in pins from a loopback git server standing in for git.openwrt.org (returned,
// to count what it serves). Give it to docker.Options.FeedMirror: the stand-in, like a real
// 24.10 SDK, cannot clone its pinned feeds without a network.
func StandinFeedMirror(t testing.TB) (*feedmirror.Mirror, *testenv.GitServer) {
	t.Helper()
	gs, _ := testenv.StartStandinFeeds(t)
	m := feedmirror.New(t.TempDir(), feedmirror.Options{Rewrite: map[string]string{"https://git.openwrt.org/": gs.URL + "/"}})
	return m, gs
}
