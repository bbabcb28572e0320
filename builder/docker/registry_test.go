package docker_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestCatalogueFollowsARealRegistry: a real registry (Debian's docker-registry) holds the
// stand-in under several release tags; the catalogue picks the newest point release from the
// registry's tag list, the executor pulls that image and builds in it, and a release pushed
// later is picked up by a refresh, without a restart.
func TestCatalogueFollowsARealRegistry(t *testing.T) {
	e := newEnv(t)
	addr := testenv.NeedRegistry(t)
	repo := addr + "/openwrt/sdk"
	for _, tag := range []string{"x86_64-24.10.5", "x86_64-v24.10.7", "x86_64-24.10.6", "x86-64-24.10.9", "x86_64-24.10.10-rc1", "mips_24kc-24.10.8"} {
		testenv.PushImage(t, e.cli, e.image, repo+":"+tag)
	}
	base, err := builder.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	src := builder.NewCatalogueSource(base, repo, builder.RegistryTags{}, slog.New(slog.NewTextHandler(e.slog, nil)))
	ex := docker.New(e.cli, docker.Options{
		Network: "none", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror, Pull: true,
		Labels: map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir(),
	})
	dir := repoDir(t, map[string]string{"pulled": ""})
	build := func(want, tag string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := src.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		plan, err := builder.MakePlan(builder.PlanInput{
			Repo: "test/repo", Commit: strings.Repeat("a", 40), Config: builder.DefaultConfig(), Found: discover(t, dir),
			Catalogue: src.Current(), Images: builder.ImageOptions{Registry: repo}, Series: []string{"24.10"}, Archs: []string{"x86_64"},
		})
		if err != nil {
			t.Fatal(err)
		}
		job := plan.Jobs[0]
		if job.Release != want || job.Image != repo+":"+tag {
			t.Fatalf("planned %s (%s), want release %s from the registry", job.Image, job.Release, want)
		}
		t.Cleanup(func() { testenv.RemoveTag(t, e.cli, job.Image) })
		log := &lines{}
		res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
		if err != nil || res.Status != builder.JobSucceeded {
			t.Fatalf("build in %s: %v %s (%s)\n%s", job.Image, err, res.Status, res.Message, log.text())
		}
		if !strings.Contains(e.slog.String(), "pulling SDK image\" image="+job.Image) {
			t.Errorf("the executor did not pull %s:\n%s", job.Image, e.slog.String())
		}
	}
	build("24.10.7", "x86_64-v24.10.7") // only the -v tag was pushed
	testenv.PushImage(t, e.cli, e.image, repo+":x86_64-24.10.11")
	build("24.10.11", "x86_64-24.10.11")
}

// TestSnapshotImageIsRefreshed: upstream re-pushes a snapshot tag; once the refresh period has
// passed the executor pulls it again, so the next build runs in the new image, not the stale
// local copy.
func TestSnapshotImageIsRefreshed(t *testing.T) {
	e := newEnv(t)
	addr := testenv.NeedRegistry(t)
	repo := addr + "/openwrt/sdk"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	a := testenv.StandinAPKImage(t)
	b := derivedImage(ctx, t, e, a)
	base, err := builder.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	dir := repoDir(t, map[string]string{"fresh": ""})
	plan, err := builder.MakePlan(builder.PlanInput{
		Repo: "test/repo", Commit: strings.Repeat("a", 40), Config: builder.DefaultConfig(), Found: discover(t, dir),
		Catalogue: base, Images: builder.ImageOptions{Registry: repo}, Series: []string{"snapshot"}, Archs: []string{"x86_64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	job := plan.Jobs[0]
	if !job.MovingImage() {
		t.Fatalf("%s of series %s is not a moving image", job.Image, job.Series)
	}
	ex := docker.New(e.cli, docker.Options{
		Network: "none", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror, Pull: true,
		RefreshPeriod: time.Nanosecond, // every build is a period later
		Labels:        map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir(),
	})
	build := func(want string) {
		t.Helper()
		log := &lines{}
		res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
		if err != nil || res.Status != builder.JobSucceeded {
			t.Fatalf("build in %s: %v %s (%s)\n%s", job.Image, err, res.Status, res.Message, log.text())
		}
		if got := imageID(ctx, t, e, job.Image); got != want {
			t.Errorf("%s is %s locally, want %s (what the registry has):\n%s", job.Image, got, want, e.slog.String())
		}
	}
	testenv.PushImage(t, e.cli, a, job.Image)
	t.Cleanup(func() {
		testenv.RemoveTag(t, e.cli, job.Image)
		// A pull leaves a digest reference of this registry on the image; the registry is gone.
		img, err := e.cli.ImageInspect(context.Background(), a)
		if err != nil {
			return
		}
		for _, d := range img.RepoDigests {
			if strings.HasPrefix(d, repo+"@") {
				testenv.RemoveTag(t, e.cli, d)
			}
		}
	})
	build(imageID(ctx, t, e, a))
	testenv.PushImage(t, e.cli, b, job.Image) // upstream's daily re-push; PushImage drops the local tag
	if _, err := e.cli.ImageTag(ctx, client.ImageTagOptions{Source: a, Target: job.Image}); err != nil {
		t.Fatal(err) // the node's copy from yesterday
	}
	build(imageID(ctx, t, e, b))
}

// TestSnapshotRefreshFailureKeepsTheLocalCopy: a registry that does not answer costs a warning,
// not the build, when the engine has the image.
func TestSnapshotRefreshFailureKeepsTheLocalCopy(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	job := builder.Job{Repo: "test/repo", Commit: strings.Repeat("a", 40), Series: "snapshot", Arch: "x86_64", Format: builder.FormatAPK, IndexJSON: 2,
		Image: "127.0.0.1:1/openwrt-ppa-test-repull/sdk:x86_64", Key: strings.Repeat("ab", 32), // nothing listens on port 1
		Units: []builder.Unit{{Dir: "stale", Name: "stale", Packages: []string{"stale"}}}}
	if _, err := e.cli.ImageTag(ctx, client.ImageTagOptions{Source: testenv.StandinAPKImage(t), Target: job.Image}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.RemoveTag(t, e.cli, job.Image) })
	ex := docker.New(e.cli, docker.Options{
		Network: "none", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror, Pull: true,
		Labels: map[string]string{testenv.TestLabel: e.id}, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir(),
	})
	log := &lines{}
	res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: repoDir(t, map[string]string{"stale": ""}), Limits: builder.Limits{Timeout: time.Minute}, Log: log}, t.TempDir())
	if err != nil || res.Status != builder.JobSucceeded {
		t.Fatalf("build with the local copy: %v %s (%s)\n%s\n%s", err, res.Status, res.Message, log.text(), e.slog.String())
	}
	if !strings.Contains(e.slog.String(), "could not refresh SDK image; building with the local copy") {
		t.Errorf("no warning that the refresh failed:\n%s", e.slog.String())
	}
}

// derivedImage commits a container of src with one more label: an image of another ID, removed
// when the test ends.
func derivedImage(ctx context.Context, t *testing.T, e *env, src string) string {
	t.Helper()
	c, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Image: src, Config: &container.Config{Labels: map[string]string{testenv.TestLabel: e.id}}})
	if err != nil {
		t.Fatal(err)
	}
	ref := "openwrt-ppa/test-repull:" + e.id
	_, err = e.cli.ContainerCommit(ctx, c.ID, client.ContainerCommitOptions{Reference: ref, Changes: []string{"LABEL openwrt-ppa.test-repull=" + e.id}})
	_, _ = e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.RemoveTag(t, e.cli, ref) })
	return ref
}

func imageID(ctx context.Context, t *testing.T, e *env, ref string) string {
	t.Helper()
	img, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return img.ID
}

func discover(t testing.TB, dir string) builder.Discovery {
	t.Helper()
	found, err := builder.Discover(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	return found
}
