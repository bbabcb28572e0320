package docker_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// needLoop skips (fails under CI) where this process cannot attach loop devices.
func needLoop(t *testing.T) {
	t.Helper()
	testenv.NeedCommand(t, "mkfs.ext4")
	testenv.NeedCommand(t, "losetup")
	if out, err := exec.Command("losetup", "--find").CombinedOutput(); err != nil {
		testenv.Missing(t, "loop devices", "losetup --find: "+strings.TrimSpace(string(out))+" (the disk workspace needs root and /dev/loop*)")
	}
}

// diskEnv is an executor whose job workspaces are disks in a folder of the test's: what
// WorkspaceAuto, the default, picks where loop devices work.
func diskEnv(t *testing.T, e *env, labels map[string]string) (*docker.Executor, string) {
	t.Helper()
	needLoop(t)
	dir := t.TempDir()
	l := map[string]string{testenv.TestLabel: e.id}
	for k, v := range labels {
		l[k] = v
	}
	ex := docker.New(e.cli, docker.Options{
		Network: "bridge", CachePrefix: e.prefix, Workspace: docker.WorkspaceAuto, DiskDir: dir, FeedMirror: e.mirror,
		Labels: l, Logger: slog.New(slog.NewTextHandler(e.slog, nil)), LockDir: t.TempDir(),
	})
	return ex, dir
}

// loopsUnder lists the loop devices backed by a file under dir.
func loopsUnder(t testing.TB, dir string) []string {
	t.Helper()
	out, err := exec.Command("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE").Output()
	if err != nil {
		t.Fatalf("losetup --list: %v", err)
	}
	var found []string
	for l := range strings.Lines(string(out)) {
		if f := strings.Fields(l); len(f) >= 2 && strings.HasPrefix(f[1], dir+"/") {
			found = append(found, l)
		}
	}
	return found
}

// detach detaches the loop devices backed by file.
func detach(t testing.TB, file string) {
	out, _ := exec.Command("losetup", "--list", "--noheadings", "--output", "NAME", "--associated", file).Output()
	for dev := range strings.FieldsSeq(string(out)) {
		if err := exec.Command("losetup", "--detach", dev).Run(); err != nil {
			t.Errorf("detaching %s: %v", dev, err)
		}
	}
}

// assertNoWorkspace fails if anything of the job's workspace is left: its volume, its file, a
// loop device on it.
func assertNoWorkspace(t *testing.T, e *env, job builder.Job, dir string) {
	t.Helper()
	if vs := e.volumes(t, docker.LabelJob+"="+job.Key); len(vs) != 0 {
		t.Errorf("workspace volumes left: %v", vs)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("disk files left in %s: %v", dir, files)
	}
	if loops := loopsUnder(t, dir); len(loops) != 0 {
		t.Errorf("loop devices left: %v", loops)
	}
}

// TestDiskWorkspaceIsCappedAndRemoved: with --workspace disk the job's /builder is an ext4 file
// of the job's WorkspaceSize on a loop device: a package that writes past it fails, saying so
// and naming the cap, the next one still builds, and volume, loop device and file are gone
// after the job, whether it failed, succeeded or was canceled.
func TestDiskWorkspaceIsCappedAndRemoved(t *testing.T) {
	e := newEnv(t)
	ex, dir := diskEnv(t, e, nil)
	limits := builder.Limits{Timeout: time.Minute, WorkspaceSize: 24 << 20}
	exec := func(t *testing.T, ctx context.Context, pkgs map[string]string) (builder.Result, builder.Job, *lines) {
		src := repoDir(t, pkgs)
		job := e.job(t, src, "24.10")
		log := &lines{}
		res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: src, Limits: limits, Log: log}, t.TempDir())
		if err != nil {
			t.Fatalf("%v\n%s", err, log.text())
		}
		return res, job, log
	}

	t.Run("failure", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, job, log := exec(t, ctx, map[string]string{"filler": "diskfill", "a-fine": ""}) // a-fine builds first
		got := byName(res)
		f := got["filler"]
		if f.Status != builder.PackageFailed || !strings.Contains(f.Reason, "disk full") || !strings.Contains(f.Reason, "24M") || !strings.Contains(f.Reason, "--workspace-size") {
			t.Errorf("filler: %+v, want failed with a full disk, the cap named and what to change\n%s", f, log.text())
		}
		if !strings.Contains(strings.Join(f.Log, "\n"), "No space left on device") {
			t.Errorf("filler's log does not show the full disk: %q", f.Log)
		}
		if a := got["a-fine"]; a.Status != builder.PackageBuilt {
			t.Errorf("a-fine: %+v\n%s", a, log.text())
		}
		assertNoWorkspace(t, e, job, dir)
		if !strings.Contains(e.slog.String(), "job workspaces are capped ext4 files on loop devices") {
			t.Errorf("auto did not say it picked the disk workspace:\n%s", e.slog.String())
		}
	})
	t.Run("success", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, job, log := exec(t, ctx, map[string]string{"fine": ""})
		if res.Status != builder.JobSucceeded {
			t.Fatalf("%s (%s)\n%s", res.Status, res.Message, log.text())
		}
		assertNoWorkspace(t, e, job, dir)
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		src := repoDir(t, map[string]string{"sleepy": "hang"})
		job := e.job(t, src, "24.10")
		log := &lines{}
		go func() {
			for !strings.Contains(log.text(), "hanging (STANDIN: hang)") {
				time.Sleep(50 * time.Millisecond)
			}
			if files, _ := os.ReadDir(dir); len(files) != 1 || len(loopsUnder(t, dir)) != 1 {
				t.Errorf("while the job runs: disk files %v, loop devices %v; want one of each", files, loopsUnder(t, dir))
			}
			cancel()
		}()
		res, err := builder.Execute(ctx, ex, builder.JobSpec{Job: job, SourceDir: src, Limits: limits, Log: log}, t.TempDir())
		if err != nil || res.Status != builder.JobCanceled {
			t.Fatalf("%v %s (%s), want canceled", err, res.Status, res.Message)
		}
		assertNoWorkspace(t, e, job, dir)
	})
	t.Run("SDK larger than the cap", func(t *testing.T) {
		src := repoDir(t, map[string]string{"fine": ""})
		job := e.job(t, src, "24.10")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		// 128K of ext4 has room for 6 files: the stand-in's SDK has more.
		run, err := ex.Start(ctx, builder.JobSpec{Job: job, SourceDir: src, Limits: builder.Limits{Timeout: time.Minute, WorkspaceSize: 128 << 10}, Log: &lines{}})
		if err == nil {
			run.Close(ctx)
		}
		if err == nil || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), "128K") || !strings.Contains(err.Error(), "--workspace-size") {
			t.Fatalf("start with a 128K workspace: %v, want an error naming the cap and the setting", err)
		}
		t.Log(err)
		assertNoWorkspace(t, e, job, dir)
	})
}

// TestDeadWorkersDisksAreSwept: a worker killed mid-build leaves its disk workspace attached;
// the next worker's sweep removes the container, the volume, the loop device and the file, and
// a disk file whose worker died before making its volume, once it is old enough to be no live
// worker's.
func TestDeadWorkersDisksAreSwept(t *testing.T) {
	e := newEnv(t)
	const owner = "openwrt-ppa.test.owner"
	ex, dir := diskEnv(t, e, map[string]string{owner: "gone"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, job := startHanging(t, ctx, e, ex)

	// Files of workers that died before making a volume: an old one and a young one.
	stray := func(name string, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 8<<20); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("losetup", "--find", "--nooverlap", p).CombinedOutput(); err != nil {
			t.Fatalf("attaching %s: %v %s", p, err, out)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := stray("openwrt-ppa-2410-x86_64-00000000.img", time.Hour)
	young := stray("openwrt-ppa-2410-x86_64-11111111.img", 0)
	t.Cleanup(func() { detach(t, young) })
	if loops := loopsUnder(t, dir); len(loops) != 3 {
		t.Fatalf("loop devices before the sweep: %v, want the build's and two strays", loops)
	}

	n, err := ex.RemoveContainers(ctx, owner, func(l map[string]string) bool { return l[owner] == "gone" })
	if err != nil || n != 4 {
		t.Fatalf("removed %d, %v; want the two phase containers, the workspace volume and the old stray disk", n, err)
	}
	if _, err := e.cli.ContainerInspect(ctx, run.ID(), client.ContainerInspectOptions{}); err == nil {
		t.Error("the build container is still there")
	}
	if vs := e.volumes(t, docker.LabelJob+"="+job.Key); len(vs) != 0 {
		t.Errorf("workspace volumes left: %v", vs)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old stray disk is still there: %v", err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || files[0].Name() != filepath.Base(young) {
		t.Errorf("disk files after the sweep: %v, want only the young stray (a live worker's, for all we know)", files)
	}
	if loops := loopsUnder(t, dir); len(loops) != 1 || !strings.Contains(loops[0], young) {
		t.Errorf("loop devices after the sweep: %v, want only the young stray's", loops)
	}
}

// startHanging starts a job on ex whose package hangs in its compile, and returns once it does:
// a worker's build in the middle of its work. The run is closed when the test ends (a no-op
// once its worker's sweep removed it).
func startHanging(t *testing.T, ctx context.Context, e *env, ex *docker.Executor) (builder.Run, builder.Job) {
	t.Helper()
	src := repoDir(t, map[string]string{"sleepy": "hang"})
	job := e.job(t, src, "24.10")
	log := &lines{}
	run, err := ex.Start(ctx, builder.JobSpec{Job: job, SourceDir: src, Limits: builder.Limits{Timeout: time.Minute, WorkspaceSize: 32 << 20}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close(context.Background()) })
	for !strings.Contains(log.text(), "hanging (STANDIN: hang)") {
		if ctx.Err() != nil {
			t.Fatalf("the build never got to compile:\n%s", log.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return run, job
}

// TestDeadWorkersDiskInAnotherFolderIsFreed: workers need not share a disk folder (each its
// own --data); one that reaps a dead worker's build frees that worker's loop device and file
// where they are, not only in its own folder.
func TestDeadWorkersDiskInAnotherFolderIsFreed(t *testing.T) {
	e := newEnv(t)
	const owner = "openwrt-ppa.test.owner"
	dead, deadDir := diskEnv(t, e, map[string]string{owner: "gone"})
	reaper, _ := diskEnv(t, e, map[string]string{owner: "alive"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, job := startHanging(t, ctx, e, dead)
	if files, _ := os.ReadDir(deadDir); len(files) != 1 || len(loopsUnder(t, deadDir)) != 1 {
		t.Fatalf("while the job runs: disk files %v, loop devices %v; want one of each", files, loopsUnder(t, deadDir))
	}
	if _, err := reaper.RemoveContainers(ctx, owner, func(l map[string]string) bool { return l[owner] == "gone" }); err != nil {
		t.Fatal(err)
	}
	assertNoWorkspace(t, e, job, deadDir)
}
