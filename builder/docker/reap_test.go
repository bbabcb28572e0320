package docker_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestRemoveContainers leaves a running build behind, as a worker killed mid-build does, and
// removes it by its label: only when the value is chosen, and never a container the executor
// did not make.
func TestRemoveContainers(t *testing.T) {
	e := newEnv(t)
	const owner = "openwrt-ppa.test.owner"
	ex := docker.New(e.cli, docker.Options{Network: "none", CachePrefix: e.prefix, TmpfsBuildDir: true, FeedMirror: e.mirror,
		Labels: map[string]string{testenv.TestLabel: e.id, owner: "gone"},
		Logger: slog.New(slog.NewTextHandler(e.slog, nil))})
	dir := repoDir(t, map[string]string{"sleepy": "hang"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job := e.job(t, dir, "24.10")
	run, err := ex.Start(ctx, builder.JobSpec{Job: job, SourceDir: dir, Limits: builder.Limits{Timeout: time.Minute}, Log: &lines{}})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close(context.Background())

	// A container with the label that no executor made stays whatever the filter says.
	stranger, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: "openwrt-ppa-test-stranger-" + e.id,
		Config: &container.Config{Image: e.image, Labels: map[string]string{testenv.TestLabel: e.id, owner: "gone"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.cli.ContainerRemove(context.Background(), stranger.ID, client.ContainerRemoveOptions{Force: true})

	seen := map[string]int{}
	n, err := ex.RemoveContainers(ctx, owner, func(l map[string]string) bool { seen[l[owner]]++; return l[owner] == "alive" })
	if err != nil || n != 0 {
		t.Fatalf("removing nothing: %d, %v", n, err)
	}
	if seen["gone"] != 2 {
		t.Errorf("the filter saw %v, want the build container's and its workspace's value once each (and never the stranger's)", seen)
	}
	if _, err := e.cli.ContainerInspect(ctx, run.ID(), client.ContainerInspectOptions{}); err != nil {
		t.Fatalf("a kept container is gone: %v", err)
	}

	workspaces := func() []string { return e.volumes(t, docker.LabelJob+"="+job.Key) }
	if ws := workspaces(); len(ws) != 1 {
		t.Fatalf("workspace volumes of the running job: %v, want one", ws)
	}
	dlVol, feedsVol := ex.CacheVolumes("", job.Series, job.Arch)

	n, err = ex.RemoveContainers(ctx, owner, func(l map[string]string) bool { return l[owner] == "gone" })
	if err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want the one build container and its workspace volume", n, err)
	}
	if ws := workspaces(); len(ws) != 0 {
		t.Errorf("the dead build's workspace volume is still there: %v", ws)
	}
	for _, v := range []string{dlVol, feedsVol} {
		if _, err := e.cli.VolumeInspect(ctx, v, client.VolumeInspectOptions{}); err != nil {
			t.Errorf("cache volume %s was removed with the dead build: %v", v, err)
		}
	}
	if _, err := e.cli.ContainerInspect(ctx, run.ID(), client.ContainerInspectOptions{}); err == nil {
		t.Fatal("the build container is still there")
	}
	if _, err := e.cli.ContainerInspect(ctx, stranger.ID, client.ContainerInspectOptions{}); err != nil {
		t.Fatalf("a container the executor did not make was removed: %v", err)
	}
}
