package docker_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

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

func discover(t testing.TB, dir string) builder.Discovery {
	t.Helper()
	found, err := builder.Discover(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	return found
}
