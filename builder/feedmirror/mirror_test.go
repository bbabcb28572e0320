package feedmirror_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// standinPins are the stand-in's pins as its feeds.conf.default has them.
func standinPins(t *testing.T) []feedmirror.Pin {
	t.Helper()
	dir, err := testenv.StandinDir()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "rootfs", "builder", "feeds.conf.default"))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := feedmirror.ParseConf(conf)
	if err != nil {
		t.Fatal(err)
	}
	pins := feedmirror.Pins(lines)
	if len(pins) != 5 {
		t.Fatalf("the stand-in pins %d feeds, want the 5 standard ones: %+v", len(pins), pins)
	}
	return pins
}

func sync(t *testing.T, m *feedmirror.Mirror, series string, pins []feedmirror.Pin) (feedmirror.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return m.Sync(ctx, series, pins)
}

// TestSyncFetchesOnceAndLaysTrees: the first sync fetches each standard feed once and lays its
// pinned commit's files; syncing again, or for another series pinning the same commits, fetches
// nothing (the server answers no request).
func TestSyncFetchesOnceAndLaysTrees(t *testing.T) {
	gs, _ := testenv.StartStandinFeeds(t)
	m := feedmirror.New(t.TempDir(), feedmirror.Options{Rewrite: map[string]string{"https://git.openwrt.org/": gs.URL + "/"}})
	pins := standinPins(t)
	res, err := sync(t, m, "24.10", pins)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fetched) != 5 || len(res.Trees) != 5 {
		t.Fatalf("fetched %v, trees %d, want all 5", res.Fetched, len(res.Trees))
	}
	for i, tr := range res.Trees {
		f := testenv.StandinFeedList[i]
		mk := filepath.Join(tr.Dir, "net", f.Package, "Makefile")
		b, err := os.ReadFile(mk)
		if err != nil || !strings.Contains(string(b), "PKG_NAME:="+f.Package) {
			t.Errorf("feed %s: %s: %v", tr.Name, mk, err)
		}
		fi, err := os.Stat(filepath.Join(tr.Dir, "net", f.Package, "files", f.Package))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("feed %s: the script is not laid executable: %v %v", tr.Name, fi, err)
		}
		if tr.Commit != f.Commit || !strings.HasSuffix(tr.Dir, f.Commit) {
			t.Errorf("feed %s: tree %+v, want commit %s", tr.Name, tr, f.Commit)
		}
	}
	fetches, bytes := gs.Served()
	if fetches != 5 || bytes == 0 {
		t.Errorf("the server answered %d fetches (%d bytes), want 5", fetches, bytes)
	}
	for _, series := range []string{"24.10", "24.10-next"} {
		res, err := sync(t, m, series, pins)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Fetched) != 0 {
			t.Errorf("%s: fetched %v again", series, res.Fetched)
		}
	}
	if f2, b2 := gs.Served(); f2 != fetches || b2 != bytes {
		t.Errorf("later syncs took %d fetches, %d bytes from upstream, want 0", f2-fetches, b2-bytes)
	}
	st, ok, err := m.Status("24.10-next")
	if err != nil || !ok || len(st.Feeds) != 5 || st.Feeds[0].Name != "base" || st.Feeds[0].Dir != res.Trees[0].Dir {
		t.Errorf("status %+v %v %v", st, ok, err)
	}
}

// TestMissingCommitIsRefusedAndPreviousKept: when the SDK pins a commit upstream does not have
// (or upstream cannot be reached), Sync fails saying which feed and commit, and the series' last
// good state and trees stay as they were.
func TestMissingCommitIsRefusedAndPreviousKept(t *testing.T) {
	gs, _ := testenv.StartStandinFeeds(t)
	dir := t.TempDir()
	m := feedmirror.New(dir, feedmirror.Options{Rewrite: map[string]string{"https://git.openwrt.org/": gs.URL + "/"}})
	pins := standinPins(t)
	good, err := sync(t, m, "24.10", pins)
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := m.Status("24.10")

	// A commit that exists nowhere upstream (made on another server).
	other := testenv.StartGitServer(t)
	missing := other.Commit(t, "x", "main", map[string]string{"a": "b"})
	next := append([]feedmirror.Pin(nil), pins...)
	next[1].Commit = missing
	// Upstream moved on meanwhile: the fetch brings something, but not the pinned commit.
	gs.Commit(t, "feed/packages", "main", map[string]string{"new": "x"})
	_, err = sync(t, m, "24.10", next)
	if !errors.Is(err, feedmirror.ErrMissingCommit) || !strings.Contains(err.Error(), "feed packages") || !strings.Contains(err.Error(), missing) {
		t.Fatalf("error %v, want a missing-commit error naming feed packages and %s", err, missing)
	}
	after, ok, err := m.Status("24.10")
	if err != nil || !ok || !after.SyncedAt.Equal(before.SyncedAt) || after.Feeds[2].Name != "packages" || after.Feeds[2].Commit != pins[1].Commit {
		t.Errorf("the state changed: %+v", after)
	}
	if _, err := os.Stat(filepath.Join(good.Trees[1].Dir, "net", "standin-packages", "Makefile")); err != nil {
		t.Errorf("the previous tree is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(good.Trees[1].Dir), missing)); !os.IsNotExist(err) {
		t.Errorf("a tree was laid for the missing commit: %v", err)
	}

	// Upstream unreachable: the same, with the fetch's error.
	down := feedmirror.New(dir, feedmirror.Options{Rewrite: map[string]string{"https://git.openwrt.org/": "http://127.0.0.1:1/"}})
	_, err = sync(t, down, "24.10", next)
	if err == nil || !strings.Contains(err.Error(), "fetching feed packages from http://127.0.0.1:1/feed/packages.git") {
		t.Fatalf("error %v, want the fetch's", err)
	}
	if st, _, _ := m.Status("24.10"); !st.SyncedAt.Equal(before.SyncedAt) {
		t.Errorf("the state changed after a failed fetch")
	}
	// What was good stays usable without the network.
	if res, err := sync(t, down, "24.10", pins); err != nil || len(res.Fetched) != 0 {
		t.Errorf("the good pins do not sync offline: %v %v", res.Fetched, err)
	}
}

// TestGitHubMirror: with Via set to the GitHub URL (as the executor does with GitHubFeeds), the
// feed comes from github.com/openwrt (here rewritten to a loopback server), keyed by its
// git.openwrt.org URL.
func TestGitHubMirror(t *testing.T) {
	gs := testenv.StartGitServer(t)
	c := gs.Commit(t, "github/packages", "main", testenv.PackageTree(map[string]string{"gh": "1.0"}))
	m := feedmirror.New(t.TempDir(), feedmirror.Options{Rewrite: map[string]string{"https://github.com/openwrt/": gs.URL + "/github/"}})
	u := "https://git.openwrt.org/feed/packages.git"
	res, err := sync(t, m, "24.10", []feedmirror.Pin{{Name: "packages", URL: u, Commit: c, Via: feedmirror.GitHubURL(u)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Trees[0].From != gs.URL+"/github/packages.git" || res.Trees[0].URL != u {
		t.Errorf("tree %+v", res.Trees[0])
	}
	if _, err := os.Stat(filepath.Join(res.Trees[0].Dir, "net", "gh", "Makefile")); err != nil {
		t.Error(err)
	}
}

func TestSyncRefusesBadPins(t *testing.T) {
	m := feedmirror.New(t.TempDir(), feedmirror.Options{Rewrite: map[string]string{"https://x.example/": "file:///etc/"}})
	good := feedmirror.Pin{Name: "packages", URL: "https://git.openwrt.org/feed/packages.git", Commit: sha}
	cases := map[string]struct {
		series string
		pins   []feedmirror.Pin
		want   string
	}{
		"series path":  {series: "../x", pins: []feedmirror.Pin{good}, want: "not a plain name"},
		"feed name":    {series: "24.10", pins: []feedmirror.Pin{{Name: "../a", URL: good.URL, Commit: sha}}, want: "feed name"},
		"short commit": {series: "24.10", pins: []feedmirror.Pin{{Name: "a", URL: good.URL, Commit: "abc"}}, want: "40-hex"},
		"ssh URL":      {series: "24.10", pins: []feedmirror.Pin{{Name: "a", URL: "ssh://git@x/y.git", Commit: sha}}, want: "http(s) URL"},
		"rewritten to a file": {series: "24.10", pins: []feedmirror.Pin{{Name: "a", URL: "https://x.example/y.git", Commit: sha}},
			want: "fix the rewrite"},
		"twice": {series: "24.10", pins: []feedmirror.Pin{good, good}, want: "pinned twice"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := m.Sync(context.Background(), tc.series, tc.pins)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	if entries, _ := os.ReadDir(m.Dir()); len(entries) != 0 {
		t.Errorf("refused pins left files: %v", entries)
	}
}
