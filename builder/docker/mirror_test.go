package docker_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

const mirrored = "feeds from the mirror (read-only, no network): base packages luci routing telephony"

// volumeFile reads a file from a volume through a container that is never started.
func (e *env) volumeFile(t *testing.T, vol, path string) string {
	t.Helper()
	ctx := context.Background()
	c, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: e.image, Labels: map[string]string{testenv.TestLabel: e.id}},
		HostConfig: &container.HostConfig{Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: "/v", ReadOnly: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	res, err := e.cli.CopyFromContainer(ctx, c.ID, client.CopyFromContainerOptions{SourcePath: "/v/" + path})
	if err != nil {
		t.Fatalf("reading %s from %s: %v", path, vol, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(tr)
	return string(b)
}

// TestFeedsFromTheMirrorWithoutNetwork: with no network at all, the SDK's pinned standard feeds
// come from the mirror as read-only links, scripts/feeds indexes them and the job builds; the
// same job without the mirror fails at feeds update, as a real SDK's clone of git.openwrt.org
// would.
func TestFeedsFromTheMirrorWithoutNetwork(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"offline": ""})
	job := e.job(t, dir, "24.10")
	res, log, _ := e.run(t, job, dir, builder.Limits{Timeout: time.Minute})
	text := log.text()
	if res.Status != builder.JobSucceeded || len(res.Files) != 1 {
		t.Fatalf("status %s (%s), files %v\n%s", res.Status, res.Message, res.Files, text)
	}
	for _, want := range []string{mirrored, "Updating feed 'packages' from '/openwrt-ppa/feeds/packages'", "Updating feed 'base' from '/openwrt-ppa/feeds/base'"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Cloning into") {
		t.Errorf("a feed was cloned:\n%s", text)
	}
	_, feedsVol := e.ex.CacheVolumes("", "24.10", "x86_64")
	for _, f := range testenv.StandinFeedList {
		if idx := e.volumeFile(t, feedsVol, f.Name+".index"); !strings.HasPrefix(idx, f.Package+"\tnet/"+f.Package) {
			t.Errorf("feeds/%s.index is %q, want its package %s", f.Name, idx, f.Package)
		}
	}

	bare := docker.New(e.cli, docker.Options{Network: "none", CachePrefix: e.prefix + "-bare", TmpfsBuildDir: true,
		Labels: map[string]string{testenv.TestLabel: e.id}, LockDir: t.TempDir()})
	log = &lines{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := builder.Execute(ctx, bare, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != builder.JobFailed || !strings.Contains(log.text(), "fatal: unable to access 'https://git.openwrt.org/openwrt/openwrt.git/': Could not resolve host: git.openwrt.org") {
		t.Errorf("without the mirror: status %s, want the feeds update failed on the clone:\n%s", res.Status, log.text())
	}
}

// TestNewArchClonesNothing: the first job of a new arch gets new cache volumes, and its feeds
// still cost nothing: the mirror fetches nothing from upstream and the build clones nothing.
func TestNewArchClonesNothing(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"hello": ""})
	if res, log, _ := e.run(t, e.job(t, dir, "24.10"), dir, builder.Limits{Timeout: time.Minute}); res.Status != builder.JobSucceeded {
		t.Fatalf("x86_64: %s\n%s", res.Status, log.text())
	}
	fetches, bytes := e.upstream.Served()
	if fetches == 0 || bytes == 0 {
		t.Fatalf("the first job fetched nothing from upstream (%d, %d): the test proves nothing", fetches, bytes)
	}
	job := e.job(t, dir, "24.10")
	job.Arch, job.Image = "aarch64_generic", testenv.StandinArchImage(t, "aarch64_generic")
	res, log, _ := e.run(t, job, dir, builder.Limits{Timeout: time.Minute})
	if res.Status != builder.JobSucceeded || len(res.Files) != 1 || !strings.HasSuffix(res.Files[0], "_aarch64_generic.ipk") {
		t.Fatalf("aarch64_generic: %s %v\n%s", res.Status, res.Files, log.text())
	}
	if f2, b2 := e.upstream.Served(); f2 != fetches || b2 != bytes {
		t.Errorf("the new arch took %d fetches and %d bytes from upstream, want 0", f2-fetches, b2-bytes)
	}
	if text := log.text(); strings.Contains(text, "Cloning into") || !strings.Contains(text, mirrored) {
		t.Errorf("the new arch did not take its feeds from the mirror:\n%s", text)
	}
	if !strings.Contains(e.slog.String(), `msg="feed mirror ready" series=24.10 feeds=5 fetched="" `) {
		t.Errorf("the executor's log does not show a sync that fetched nothing:\n%s", e.slog.String())
	}
}

// TestMirrorIsReadOnly: a package that writes into a standard feed's tree fails, and the
// mirror's file is as it was.
func TestMirrorIsReadOnly(t *testing.T) {
	e := newEnv(t)
	target := "feeds/packages/net/standin-packages/Makefile"
	dir := repoDir(t, map[string]string{"tamper": "write " + target})
	res, log, _ := e.run(t, e.job(t, dir, "24.10"), dir, builder.Limits{Timeout: time.Minute})
	p := byName(res)["tamper"]
	if p.Status != builder.PackageFailed || !strings.Contains(strings.Join(p.Log, "\n"), "Read-only file system") {
		t.Errorf("tamper: %+v, want failed on a read-only file system\n%s", p, log.text())
	}
	st, ok, err := e.mirror.Status("24.10")
	if err != nil || !ok {
		t.Fatalf("no mirror state: %v", err)
	}
	for _, f := range st.Feeds {
		if f.Name != "packages" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.Dir, "net", "standin-packages", "Makefile"))
		if err != nil || strings.Contains(string(b), "written by") || !strings.Contains(string(b), "PKG_NAME:=standin-packages") {
			t.Errorf("the mirror's Makefile changed: %v\n%s", err, b)
		}
	}
}

// TestMirrorMissingCommitIsRefused: when upstream lacks the commits the SDK pins, the job does
// not start (no container), with an error naming the feed and the commit; a mirror that holds
// them (the same folder, synced before) serves them without asking upstream at all.
func TestMirrorMissingCommitIsRefused(t *testing.T) {
	e := newEnv(t)
	wrong := testenv.StartGitServer(t) // the same repositories, other commits
	for _, f := range testenv.StandinFeedList {
		wrong.Commit(t, f.Repo, "main", testenv.StandinFeedFiles(f))
	}
	dir := repoDir(t, map[string]string{"hello": ""})
	job := e.job(t, dir, "24.10")
	mirrorDir := t.TempDir()
	ex := func(upstream string) *docker.Executor {
		m := feedmirror.New(mirrorDir, feedmirror.Options{Rewrite: map[string]string{"https://git.openwrt.org/": upstream + "/"}})
		return docker.New(e.cli, docker.Options{Network: "none", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: m,
			Labels: map[string]string{testenv.TestLabel: e.id}, LockDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(e.slog, nil))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := builder.Execute(ctx, ex(wrong.URL), builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: &lines{}}, t.TempDir())
	base := testenv.StandinFeedList[0]
	if !errors.Is(err, builder.ErrExecutor) || !errors.Is(err, feedmirror.ErrMissingCommit) || !strings.Contains(err.Error(), "feed base") || !strings.Contains(err.Error(), base.Commit) {
		t.Fatalf("error %v, want a missing-commit refusal naming feed base and %s", err, base.Commit)
	}
	f := make(client.Filters).Add("label", docker.LabelJob+"="+job.Key)
	if cs, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err != nil || len(cs.Items) != 0 {
		t.Errorf("containers left after the refusal: %d %v", len(cs.Items), err)
	}

	log := &lines{}
	if res, err := builder.Execute(ctx, ex(e.upstream.URL), builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir()); err != nil || res.Status != builder.JobSucceeded {
		t.Fatalf("with the right upstream: %v %s\n%s", err, res.Status, log.text())
	}
	served, _ := wrong.Served()
	log = &lines{}
	if res, err := builder.Execute(ctx, ex(wrong.URL), builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir()); err != nil || res.Status != builder.JobSucceeded {
		t.Errorf("a synced mirror did not serve its pins: %v %s\n%s", err, res.Status, log.text())
	}
	if n, _ := wrong.Served(); n != served {
		t.Errorf("a synced mirror asked upstream again (%d fetches)", n-served)
	}
}

// TestSnapshotSDKFeedsFromTheMirror: an image whose setup.sh fetches the SDK has its
// feeds.conf.default read from the SDK volume, and its pins linked too.
func TestSnapshotSDKFeedsFromTheMirror(t *testing.T) {
	e := newEnv(t)
	ex := docker.New(e.cli, docker.Options{Network: "bridge", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror,
		Labels: map[string]string{testenv.TestLabel: e.id}, LockDir: t.TempDir()})
	dir := repoDir(t, map[string]string{"snappy": ""})
	job := e.job(t, dir, "24.10")
	job.Image = testenv.StandinSnapshotImage(t)
	log := &lines{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
	if err != nil || res.Status != builder.JobSucceeded {
		t.Fatalf("%v %s\n%s", err, res.Status, log.text())
	}
	if text := log.text(); !strings.Contains(text, mirrored) || strings.Contains(text, "Cloning into") {
		t.Errorf("the snapshot SDK's feeds were not linked from the mirror:\n%s", text)
	}
}

// TestClonedFeedsVolumeSwitchesToTheMirror: a feeds cache volume that scripts/feeds filled with
// clones (before the mirror, or a clone stuck at a wrong commit) is relinked to the mirror's
// trees by the next job, as scripts/feeds replaces a feed whose source changed.
func TestClonedFeedsVolumeSwitchesToTheMirror(t *testing.T) {
	e := newEnv(t)
	dir := repoDir(t, map[string]string{"hello": ""})
	job := e.job(t, dir, "24.10")
	old := docker.New(e.cli, docker.Options{Network: "bridge", CachePrefix: e.prefix, TmpfsBuildDir: true,
		Labels: map[string]string{testenv.TestLabel: e.id}, LockDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := &lines{}
	if res, err := builder.Execute(ctx, old, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir()); err != nil || res.Status != builder.JobSucceeded || !strings.Contains(log.text(), "Cloning into 'feeds/base'") {
		t.Fatalf("the build without a mirror: %v %s\n%s", err, res.Status, log.text())
	}
	res, log, _ := e.run(t, job, dir, builder.Limits{Timeout: time.Minute})
	if res.Status != builder.JobSucceeded || !strings.Contains(log.text(), "Source of feed base has changed, replacing copy") || !strings.Contains(log.text(), mirrored) {
		t.Errorf("the cloned feeds were not replaced by the mirror's: %s\n%s", res.Status, log.text())
	}
}
