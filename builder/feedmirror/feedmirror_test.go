package feedmirror_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// standinConf is the stand-in SDK's feeds.conf.default, which pins the five feeds as 24.10 does.
func standinConf(t *testing.T) string {
	t.Helper()
	dir, err := testenv.StandinDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "rootfs", "builder", "feeds.conf.default"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newMirror(t *testing.T, rewrites ...string) *feedmirror.Mirror {
	t.Helper()
	var rw []feedmirror.Rewrite
	for _, r := range rewrites {
		p, err := feedmirror.ParseRewrite(r)
		if err != nil {
			t.Fatal(err)
		}
		rw = append(rw, p)
	}
	m, err := feedmirror.New(feedmirror.Options{Dir: t.TempDir(), Rewrites: rw, FetchTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The mirror fetches each pinned feed from a real git server (git.openwrt.org rewritten to it),
// keeps the tree at exactly the pinned commit without git data, and serves it again from disk.
func TestEnsureFetchesThePinnedCommits(t *testing.T) {
	srv := testenv.StartFeedServer(t)
	m := newMirror(t, srv.Rewrite())
	ctx := context.Background()
	got, err := m.Ensure(ctx, "24.10", standinConf(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(feedmirror.Standard) {
		t.Fatalf("mirrored %v, want the %d standard feeds", got, len(feedmirror.Standard))
	}
	for _, feed := range feedmirror.Standard {
		dir := got[feed]
		if want := m.Path("24.10", feed, srv.Commits[feed]); dir != want {
			t.Errorf("%s is at %s, want %s", feed, dir, want)
		}
		mk := filepath.Join(dir, "utils", "standin-"+feed, "Makefile")
		b, err := os.ReadFile(mk)
		if err != nil || !strings.Contains(string(b), "PKG_NAME:=standin-"+feed) {
			t.Errorf("%s: the tree lacks its package Makefile: %v", feed, err)
		}
		if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
			t.Errorf("%s keeps its git data (%v); builds need the tree only", feed, err)
		}
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm()&0o005 != 0o005 {
			t.Errorf("%s is not readable by the build user: %v %v", feed, fi.Mode(), err)
		}
	}
	// A second call uses the trees on disk: the server may be gone.
	if err := os.RemoveAll(srv.Root); err != nil {
		t.Fatal(err)
	}
	again, err := m.Ensure(ctx, "24.10", standinConf(t))
	if err != nil || again["base"] != got["base"] {
		t.Fatalf("second Ensure: %v %v", again, err)
	}
	// Another series keeps its own copy.
	if _, err := m.Ensure(ctx, "25.12", standinConf(t)); err == nil {
		t.Error("25.12 was served from 24.10's trees without fetching")
	}
}

// A commit the server does not have never becomes a tree, and the failure is the executor's
// (the job is retried), naming the feed.
func TestEnsureRefusesAMissingCommit(t *testing.T) {
	srv := testenv.StartFeedServer(t)
	m := newMirror(t, srv.Rewrite())
	bad := "src-git packages https://git.openwrt.org/feed/packages.git^" + strings.Repeat("ab", 20) + "\n"
	_, err := m.Ensure(context.Background(), "24.10", bad)
	if err == nil || !errors.Is(err, builder.ErrExecutor) || !strings.Contains(err.Error(), "packages") {
		t.Fatalf("Ensure of a commit the server lacks: %v", err)
	}
	assertOnlyLocks(t, filepath.Join(m.Dir(), "24.10"))
}

// A server that does not serve single commits (no allow-reachable-sha1-in-want) is fetched in
// full, and the tree is the same.
func TestEnsureFallsBackToAFullFetch(t *testing.T) {
	srv := testenv.StartFeedServer(t)
	bare := filepath.Join(srv.Root, testenv.StandardFeedRepos["routing"]+".git")
	testenv.Git(t, bare, "config", "uploadpack.allowReachableSHA1InWant", "false")
	var log testenv.SyncBuffer
	m, err := feedmirror.New(feedmirror.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&log, nil)),
		Rewrites: []feedmirror.Rewrite{{From: testenv.FeedUpstream, To: srv.URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Ensure(context.Background(), "24.10", standinConf(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(got["routing"], "utils", "standin-routing", "Makefile")); err != nil {
		t.Fatalf("routing after a full fetch: %v", err)
	}
	// The other feeds came as single commits, routing in full.
	for _, want := range []string{"feed=routing commit=" + srv.Commits["routing"], "feed=luci commit=" + srv.Commits["luci"]} {
		line := ""
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, want) {
				line = l
			}
		}
		shallow := !strings.Contains(want, "routing")
		if !strings.Contains(line, fmt.Sprintf("shallow=%v", shallow)) {
			t.Errorf("want %s fetched with shallow=%v, log:\n%s", want, shallow, log.String())
		}
	}
}

// A fetch killed midway (here: the server stalls until the time limit) leaves no tree, and the
// temporary folder a killed process left is cleared by the next fetch.
func TestEnsureKilledMidwayLeavesNoTree(t *testing.T) {
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer stall.Close()
	m := newMirror(t, testenv.FeedUpstream+"="+stall.URL+"/")
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := m.Ensure(ctx, "24.10", standinConf(t)); err == nil {
		t.Fatal("Ensure succeeded against a stalled server")
	}
	assertOnlyLocks(t, filepath.Join(m.Dir(), "24.10"))

	// What a SIGKILL leaves: a partial fetch in a temporary folder. The next Ensure (a real
	// server now) must neither use it nor keep it.
	srv := testenv.StartFeedServer(t)
	m2, err := feedmirror.New(feedmirror.Options{Dir: m.Dir(), Rewrites: []feedmirror.Rewrite{{From: testenv.FeedUpstream, To: srv.URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(m.Dir(), "24.10", ".tmp-luci-deadbeef")
	if err := os.MkdirAll(filepath.Join(left, "half"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := m2.Ensure(context.Background(), "24.10", standinConf(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the killed fetch's folder is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(got["luci"], "half")); !os.IsNotExist(err) {
		t.Error("the tree holds what the killed fetch left")
	}
}

// assertOnlyLocks fails when dir holds anything but lock files: no tree, no temporary folder.
func assertOnlyLocks(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("%s left in the mirror", e.Name())
		}
	}
}

func TestParsePins(t *testing.T) {
	c := strings.Repeat("0a", 20)
	cases := map[string][]feedmirror.Pin{
		"src-git packages https://git.openwrt.org/feed/packages.git^" + c:             {{Name: "packages", URL: "https://git.openwrt.org/feed/packages.git", Commit: c}},
		"src-git-full base https://git.openwrt.org/openwrt/openwrt.git^" + c:          {{Name: "base", URL: "https://git.openwrt.org/openwrt/openwrt.git", Commit: c}},
		"src-git packages https://git.openwrt.org/feed/packages.git;openwrt-24.10":    nil, // a branch: unverifiable
		"src-git packages https://git.openwrt.org/feed/packages.git":                  nil, // snapshot
		"src-git custom https://example.org/custom.git^" + c:                          nil, // not a standard feed
		"src-git luci https://git.openwrt.org/project/luci.git^" + c[:39]:             nil, // short hash
		"src-git luci https://git.openwrt.org/project/luci.git^" + strings.ToUpper(c): nil,
		"src-link base /somewhere":                          nil,
		"# src-git base https://git.openwrt.org/x.git^" + c: nil,
		"": nil,
	}
	for conf, want := range cases {
		got := feedmirror.ParsePins(conf)
		if len(got) != len(want) || len(want) == 1 && got[0] != want[0] {
			t.Errorf("ParsePins(%q) = %v, want %v", conf, got, want)
		}
	}
}

func TestRewrites(t *testing.T) {
	m, err := feedmirror.New(feedmirror.Options{Dir: t.TempDir(), Rewrites: feedmirror.GitHubRewrites})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"https://git.openwrt.org/openwrt/openwrt.git": "https://github.com/openwrt/openwrt.git",
		"https://git.openwrt.org/feed/packages.git":   "https://github.com/openwrt/packages.git",
		"https://git.openwrt.org/project/luci.git":    "https://github.com/openwrt/luci.git",
		"https://example.org/feed/x.git":              "https://example.org/feed/x.git",
	} {
		if got := m.URL(in); got != want {
			t.Errorf("URL(%s) = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"https://git.openwrt.org/", "=https://x/", "https://a/=file:///etc/", "https://a/=ssh://git@h/", "https://a/=https://u:p@h/"} {
		if _, err := feedmirror.ParseRewrite(bad); err == nil {
			t.Errorf("ParseRewrite(%q) accepted", bad)
		}
	}
	// A URL the image names is checked too: nothing local is fetched.
	_, err = m.Ensure(context.Background(), "24.10", "src-git base file:///etc^"+strings.Repeat("0", 40))
	if err == nil || !strings.Contains(err.Error(), "http(s)") {
		t.Errorf("a file:// feed was not refused: %v", err)
	}
	if _, err := m.Ensure(context.Background(), "../x", ""); err == nil {
		t.Error("a series that is a path was accepted")
	}
}

func FuzzParsePins(f *testing.F) {
	f.Add("src-git base https://git.openwrt.org/openwrt/openwrt.git^" + strings.Repeat("0", 40) + "\nsrc-git packages x;y\n")
	f.Fuzz(func(t *testing.T, conf string) {
		for _, p := range feedmirror.ParsePins(conf) {
			if len(p.Commit) != 40 || strings.Trim(p.Commit, "0123456789abcdef") != "" || strings.ContainsAny(p.Name+p.URL, " \t\n^") {
				t.Fatalf("pin %+v from %q", p, conf)
			}
		}
	})
}
