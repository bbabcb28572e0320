package testenv

import (
	"testing"
	"time"
)

// StandinFeed is one standard feed the stand-in's feeds.conf.default pins, as a 24.10 release
// SDK's does: its git.openwrt.org URL at a commit.
type StandinFeed struct {
	Name    string // feeds.conf name
	Repo    string // path of the repository on git.openwrt.org (and on a StandinFeeds server), without .git
	Package string // the one package in it
	Commit  string // the commit feeds.conf.default pins
}

// URL is the feed's git.openwrt.org URL, as feeds.conf.default has it.
func (f StandinFeed) URL() string { return "https://git.openwrt.org/" + f.Repo + ".git" }

// standinFeedsDate fixes the commits' dates, so their hashes are the ones the stand-in pins.
var standinFeedsDate = time.Date(2025, 2, 4, 12, 0, 0, 0, time.UTC)

// StandinFeedList is the stand-in's standard feeds with the commits its feeds.conf.default
// pins; StandinFeeds makes exactly these commits (TestStandinFeedsMatchItsPins checks it).
var StandinFeedList = []StandinFeed{
	{Name: "base", Repo: "openwrt/openwrt", Package: "standin-base", Commit: "927d9ef593d446eb851d13af90cc4cb43c124a0b"},
	{Name: "packages", Repo: "feed/packages", Package: "standin-packages", Commit: "134b54b89beee410ac67821f761cfbcc9abd9df4"},
	{Name: "luci", Repo: "project/luci", Package: "standin-luci", Commit: "09e44c252b6246ae332e028598d3fe55a8f53af4"},
	{Name: "routing", Repo: "feed/routing", Package: "standin-routing", Commit: "26e31d22592faf2e16e125a6097b94dd272ae732"},
	{Name: "telephony", Repo: "feed/telephony", Package: "standin-telephony", Commit: "44fe6d6316222b2fd9c77b44f692160a01a33e75"},
}

// StandinFeedFiles is the tree of a stand-in feed's repository: one package.
func StandinFeedFiles(f StandinFeed) map[string]string {
	return PackageTree(map[string]string{f.Package: "1.0"})
}

// StartStandinFeeds starts a git server holding the stand-in's standard feeds at the paths
// git.openwrt.org has them (openwrt/openwrt.git, feed/packages.git, …), each with the commit the
// stand-in pins on its main branch, and returns it with the commits made (name → hash).
func StartStandinFeeds(t testing.TB) (*GitServer, map[string]string) {
	t.Helper()
	gs := StartGitServer(t)
	got := map[string]string{}
	for _, f := range StandinFeedList {
		got[f.Name] = gs.CommitAt(t, f.Repo, "main", StandinFeedFiles(f), standinFeedsDate)
	}
	return gs, got
}
