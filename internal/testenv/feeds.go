package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// StandardFeedRepos are the standard feeds' repositories on git.openwrt.org (and so on a
// FeedServer), as an SDK's feeds.conf.default names them.
var StandardFeedRepos = map[string]string{
	"base":      "openwrt/openwrt",
	"packages":  "feed/packages",
	"luci":      "project/luci",
	"routing":   "feed/routing",
	"telephony": "feed/telephony",
}

// FeedUpstream is the prefix of the standard feeds' URLs in the stand-in's feeds.conf.default.
const FeedUpstream = "https://git.openwrt.org/"

// FeedServer is a git server on loopback holding the standard feeds of the SDK stand-in at the
// commits its feeds.conf.default pins: rewrite FeedUpstream to URL+"/" (Rewrite) and the feed
// mirror fetches them as it would from git.openwrt.org.
type FeedServer struct {
	*GitServer
	Commits map[string]string // feed name → the commit made
}

// Rewrite is the "FROM=TO" that points the stand-in's feed URLs at this server.
func (s *FeedServer) Rewrite() string { return FeedUpstream + "=" + s.URL + "/" }

// StandinFeedFiles is the tree of a standard feed of the stand-in: one small package.
func StandinFeedFiles(feed string) map[string]string {
	name := "standin-" + feed
	return map[string]string{
		"README":                           "stand-in of the " + feed + " feed (test fixture)\n",
		"utils/" + name + "/Makefile":      PackageMakefile(name, "1.0", ""),
		"utils/" + name + "/files/" + name: "#!/bin/sh\necho " + name + "\n",
	}
}

// StartFeedServer starts a FeedServer. Its commits are reproducible (fixed content, author and
// dates); it fails the test when they are not what the stand-in's feeds.conf.default pins (then
// that file needs the new hashes). The server lets clients fetch a single commit, as GitHub does.
func StartFeedServer(t testing.TB) *FeedServer {
	t.Helper()
	s := &FeedServer{GitServer: StartGitServer(t), Commits: map[string]string{}}
	s.fill(t)
	return s
}

var shared struct {
	sync.Mutex
	srv *FeedServer
}

// SharedFeedServer is a FeedServer that every test of the process shares: it is never changed
// after it is made, and it runs until the process ends (its few kilobytes stay in the temp folder).
func SharedFeedServer(t testing.TB) *FeedServer {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.srv != nil {
		return shared.srv
	}
	root, err := os.MkdirTemp("", "openwrt-ppa-feeds-")
	if err != nil {
		t.Fatal(err)
	}
	gs, _, err := newGitServer(NeedCommand(t, "git"), root, "127.0.0.1", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &FeedServer{GitServer: gs, Commits: map[string]string{}}
	s.fill(t)
	shared.srv = s
	return s
}

func (s *FeedServer) fill(t testing.TB) {
	t.Helper()
	pins, err := StandinFeedPins()
	if err != nil {
		t.Fatal(err)
	}
	date := "2025-02-04T12:00:00+00:00"
	for feed, repo := range StandardFeedRepos {
		c := s.commit(t, repo, "main", StandinFeedFiles(feed), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
		runGit(t, s.git, filepath.Join(s.Root, repo+".git"), "config", "uploadpack.allowReachableSHA1InWant", "true")
		s.Commits[feed] = c
		if pins[feed] != c {
			t.Fatalf("the stand-in's feeds.conf.default pins %s at %q, the feed server made %s: put that hash there", feed, pins[feed], c)
		}
	}
}

// StandinFeedPins reads the commits the stand-in's feeds.conf.default pins, by feed name.
func StandinFeedPins() (map[string]string, error) {
	dir, err := StandinDir()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "rootfs", "builder", "feeds.conf.default"))
	if err != nil {
		return nil, err
	}
	pins := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "src-git" {
			if _, c, ok := strings.Cut(f[2], "^"); ok {
				pins[f[1]] = c
			}
		}
	}
	return pins, nil
}
