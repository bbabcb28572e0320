package docker_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestStandardFeedsComeFromTheMirror: the stand-in pins its five standard feeds as 24.10 does,
// and its scripts/feeds, like the real one, needs the network to clone them. With no network
// at all, a build without the mirror fails at feeds update; with it, every standard feed is a
// read-only src-link to the mirror's verified tree and the build succeeds. A snapshot image
// (the SDK from setup.sh) has its feeds.conf.default read from the fetched SDK.
func TestStandardFeedsComeFromTheMirror(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"offline": ""})
	build := func(ex *docker.Executor, image string) (builder.Result, string) {
		t.Helper()
		job := e.job(t, dir, "24.10")
		job.Image = image
		log := &lines{}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
		if err != nil {
			t.Fatalf("%v\n%s", err, e.slog.String())
		}
		return res, log.text()
	}

	bare := docker.New(e.cli, docker.Options{Network: "none", CachePrefix: e.prefix + "-bare", TmpfsBuildDir: true,
		Labels: map[string]string{testenv.TestLabel: e.id}, LockDir: t.TempDir()})
	res, text := build(bare, e.image)
	if res.Status != builder.JobFailed || !strings.Contains(res.Message, "feeds-update") || !strings.Contains(text, "Could not resolve host: git.openwrt.org") {
		t.Fatalf("without the mirror and without a network: %s (%s), want the feeds update to fail\n%s", res.Status, res.Message, text)
	}

	res, text = build(e.ex, e.image)
	if res.Status != builder.JobSucceeded {
		t.Fatalf("with the mirror: %s (%s)\n%s\n%s", res.Status, res.Message, text, e.slog.String())
	}
	for _, feed := range []string{"base", "packages", "luci", "routing", "telephony"} {
		if !strings.Contains(text, "Updating feed '"+feed+"' from '/openwrt-ppa/feedmirror/"+feed+"' ...") {
			t.Errorf("feed %s was not linked to the mirror:\n%s", feed, text)
		}
	}
	if strings.Contains(text, "git.openwrt.org") || strings.Contains(text, "ERROR") {
		t.Errorf("the build still went for git.openwrt.org, or a mirrored Makefile did not parse:\n%s", text)
	}

	// The snapshot stand-in's setup.sh needs a network: downloads get the bridge, the feeds
	// still come from the mirror.
	snap := docker.New(e.cli, docker.Options{Network: "bridge", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror,
		Labels: map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir()})
	res, text = build(snap, testenv.StandinSnapshotImage(t))
	if res.Status != builder.JobSucceeded || !strings.Contains(text, "Updating feed 'luci' from '/openwrt-ppa/feedmirror/luci'") {
		t.Errorf("snapshot image with the mirror: %s (%s)\n%s", res.Status, res.Message, text)
	}
}
