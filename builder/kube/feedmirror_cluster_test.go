package kube

import (
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestStandardFeedsComeFromTheMirror: the stand-in pins its five standard feeds as 24.10 does.
// Without a mirror the pod clones each from git.openwrt.org itself; with one, the executor
// fetches them (from a loopback server, as the service would from GitHub), streams the trees
// into the pod, and every standard feed is a src-link to its copy on the read-only source
// volume: no feed comes over the pod's network.
func TestStandardFeedsComeFromTheMirror(t *testing.T) {
	m, err := feedmirror.New(feedmirror.Options{Dir: t.TempDir(), Rewrites: []feedmirror.Rewrite{{From: testenv.FeedUpstream, To: testenv.SharedFeedServer(t).URL + "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := repoDir(t, map[string]string{"offline": ""})
	build := func(e *env) string {
		t.Helper()
		res, log, _ := e.exec(t, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir,
			Limits: builder.Limits{Timeout: 2 * time.Minute, WorkspaceSize: 64 << 20, MemoryBytes: 512 << 20}})
		if res.Status != builder.JobSucceeded {
			t.Fatalf("status %s (%s)\n%s\n%s", res.Status, res.Message, log.text(), e.slog.String())
		}
		return log.text()
	}
	feeds := []string{"base", "packages", "luci", "routing", "telephony"}

	text := build(newEnv(t))
	for _, feed := range feeds {
		if !strings.Contains(text, "Updating feed '"+feed+"' from 'https://git.openwrt.org/") {
			t.Errorf("without the mirror, feed %s was not cloned by the build:\n%s", feed, text)
		}
	}

	e := newEnv(t, func(o *Options) { o.FeedMirror = m })
	text = build(e)
	for _, feed := range feeds {
		if !strings.Contains(text, "Updating feed '"+feed+"' from '"+feedMirrorDir+"/"+feed+"' ...") {
			t.Errorf("feed %s was not linked to the streamed mirror:\n%s", feed, text)
		}
	}
	if strings.Contains(text, "git.openwrt.org") || strings.Contains(text, "ERROR") {
		t.Errorf("the build still went for git.openwrt.org, or a mirrored Makefile did not parse:\n%s", text)
	}
	if !strings.Contains(e.slog.String(), "streamed the mirrored standard feeds") {
		t.Errorf("the executor did not say it streamed the feeds:\n%s", e.slog.String())
	}
}
