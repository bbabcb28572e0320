package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/keyseal"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// startRedisE2E runs serve in Redis mode without workers of its own, for worker processes of the
// binary it returns to take the jobs.
func startRedisE2E(t *testing.T) (*e2e, string) {
	t.Helper()
	rds := testenv.StartRedis(t)
	e := newE2E(t)
	bin := buildBinary(t)
	kek, err := keyseal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Redis, e.cfg.Workers, e.cfg.KeyEncryptionKey = rds.URL(), 0, app.Secret(kek)
	e.cfg.VisibilityTime = 5 * time.Second
	e.start()
	return e, bin
}

// TestRedisWorkerKilledMidBuild runs the scale-out shape: `serve --redis` in this process with
// no workers of its own, two `openwrt-ppa worker` processes sharing its data dir, a real
// redis-server. The worker holding a slow job is killed with SIGKILL mid-build; the other takes
// the job once its lease runs out, removes the dead worker's build container, builds and
// publishes once, and the check ends green.
func TestRedisWorkerKilledMidBuild(t *testing.T) {
	e, bin := startRedisE2E(t)
	workers := [2]*workerProc{startWorker(t, e, bin), startWorker(t, e, bin)}

	// The build sleeps past the visibility timeout, so the dead worker's container still runs
	// when the other worker takes the job over.
	sha := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"slow": "1.0 sleep 8"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("k1", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}

	// Find the worker holding the job, wait for its build container to run, kill the worker.
	var held store.Job
	waitFor(t, "a worker to hold the job", func() bool {
		js := e.jobsOfLatestBuild()
		if len(js) == 1 && js[0].Status == store.StatusRunning && js[0].WorkerID != "" {
			held = js[0]
			return true
		}
		return false
	})
	victim, survivor := workers[0], workers[1]
	if !strings.HasPrefix(held.WorkerID, victim.id+"/") {
		victim, survivor = survivor, victim
	}
	if !strings.HasPrefix(held.WorkerID, victim.id+"/") {
		t.Fatalf("job held by %q, which is neither worker (%s, %s)", held.WorkerID, workers[0].id, workers[1].id)
	}
	waitFor(t, "the held job's build container to run", func() bool {
		return len(workerContainers(t, victim.id, true)) == 1
	})
	time.Sleep(time.Second) // well into the build
	victim.kill9()
	t.Logf("killed worker %s mid-build of job %d", victim.id, held.ID)

	b := e.waitBuilds(1)[0]
	js := e.jobs(b.ID)
	if b.Status != store.StatusSuccess || len(js) != 1 {
		t.Fatalf("build %+v jobs %+v\nsurvivor's log:\n%s", b, js, survivor.log.String())
	}
	j := js[0]
	if j.Status != store.StatusSuccess || !strings.HasPrefix(j.WorkerID, survivor.id+"/") || j.Attempts != 2 {
		t.Fatalf("job %+v: want success by %s on the second attempt\nsurvivor's log:\n%s", j, survivor.id, survivor.log.String())
	}
	// The package's build time is kept with its result (it sleeps 8 s in the stand-in).
	var res struct {
		Packages []struct {
			Name       string `json:"name"`
			DurationMS int64  `json:"duration_ms"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(j.Result, &res); err != nil || len(res.Packages) != 1 || res.Packages[0].DurationMS < 7000 {
		t.Errorf("job result %s: want the slow package's duration (about 8 s)", j.Result)
	}

	// The dead worker's build container was removed, not left to run on: by the survivor when
	// it took the job over, unless another worker process of this host (a concurrent test run)
	// started and removed it first.
	if left := workerContainers(t, victim.id, false); len(left) != 0 {
		t.Errorf("the killed worker's build container is still there: %v", left)
	}
	if !strings.Contains(survivor.log.String(), "removed build containers of dead workers") {
		t.Log("the survivor found no orphan to remove: another worker process of this host did it")
	}
	// With the disk workspace (where loop devices work), its file and loop device went too.
	if strings.Contains(victim.log.String(), "job workspaces are capped ext4 files on loop devices") {
		ws := filepath.Join(e.cfg.Data, "workspaces")
		if left, _ := filepath.Glob(filepath.Join(ws, "*")); len(left) != 0 {
			t.Errorf("the killed worker's workspace disk is still there: %v", left)
		}
		if out, _ := exec.Command("losetup", "--list", "--noheadings", "--output", "BACK-FILE").Output(); strings.Contains(string(out), ws) {
			t.Errorf("loop devices on the workspace disks are left:\n%s", out)
		}
	} else {
		t.Log("the workers had no disk workspace (no loop devices here): its sweep is not tested")
	}

	// Published once: one signed index listing the package once, one package file, and one
	// completed report of the check run.
	if listed := e.verifyFeed("/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub"); len(listed) != 1 || listed["slow"] != "1.0-r1" {
		t.Fatalf("feed lists %v", listed)
	}
	ipks, _ := filepath.Glob(filepath.Join(e.cfg.Data, "feeds", "alice", "pkgs", "main", "24.10", "x86_64", "*.ipk"))
	if len(ipks) != 1 {
		t.Errorf("the feed folder holds %v, want one package file", ipks)
	}
	run := e.checkRun(j)
	if run["status"] != "completed" || run["conclusion"] != "success" {
		t.Fatalf("check run %v", run)
	}
	completed := 0
	for _, c := range e.gh.Calls() {
		var body map[string]any
		if c.Method == http.MethodPatch && c.Path == "/repos/alice/pkgs/check-runs/"+j.CheckRunID &&
			json.Unmarshal(c.Body, &body) == nil && body["status"] == "completed" {
			completed++
		}
	}
	if completed != 1 {
		t.Errorf("the check run was completed %d times, want once", completed)
	}

	// The survivor stops cleanly on SIGTERM and leaves no container behind.
	survivor.stop()
	if left := workerContainers(t, survivor.id, false); len(left) != 0 {
		t.Errorf("the surviving worker left containers: %v", left)
	}
	// Nor is a work folder left in the shared data dir, the killed worker's included.
	if left, _ := filepath.Glob(filepath.Join(e.cfg.Data, "cache", "work", "*")); len(left) != 0 {
		t.Errorf("work folders left in the data dir: %v", left)
	}
}

// TestRedisWorkerSIGTERMHandsJobBack stops a worker process with SIGTERM mid-build: past its
// grace period the build is stopped and removed, the job goes back to the Redis queue as queued
// (its check too), the process exits 0, and the next worker builds the job.
func TestRedisWorkerSIGTERMHandsJobBack(t *testing.T) {
	e, bin := startRedisE2E(t)
	first := startWorker(t, e, bin)

	sha := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"slow": "1.0 sleep 6"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("t1", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	waitFor(t, "the worker's build container to run", func() bool {
		return len(workerContainers(t, first.id, true)) == 1
	})
	time.Sleep(time.Second) // well into the build
	stopped := time.Now()
	first.stop() // SIGTERM; fails the test unless it exits 0
	t.Logf("the worker exited %s after SIGTERM (grace 1s)", time.Since(stopped).Round(time.Millisecond))
	if left := workerContainers(t, first.id, false); len(left) != 0 {
		t.Errorf("the stopped worker left its build container: %v", left)
	}
	js := e.jobsOfLatestBuild()
	if len(js) != 1 || js[0].Status != store.StatusQueued || js[0].WorkerID != "" || js[0].Attempts != 1 {
		t.Fatalf("jobs after the shutdown %+v, want one queued again", js)
	}
	if n, err := e.rt.Queue.Len(context.Background()); err != nil || n != 1 {
		t.Fatalf("the queue holds %d waiting jobs (%v), want the handed-back one", n, err)
	}
	if run := e.checkRun(js[0]); run["status"] != "queued" {
		t.Errorf("check run after the hand-back %v, want queued", run)
	}

	second := startWorker(t, e, bin)
	b := e.waitBuilds(1)[0]
	j := e.jobs(b.ID)[0]
	if b.Status != store.StatusSuccess || !strings.HasPrefix(j.WorkerID, second.id+"/") || j.Attempts != 2 {
		t.Fatalf("build %+v job %+v, want success by %s on the second attempt", b, j, second.id)
	}
	if listed := e.verifyFeed("/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub"); listed["slow"] != "1.0-r1" {
		t.Fatalf("feed lists %v", listed)
	}
	if run := e.checkRun(j); run["conclusion"] != "success" {
		t.Errorf("check run %v", run)
	}
}

// jobsOfLatestBuild returns the jobs of the repository's newest build, or none yet.
func (e *e2e) jobsOfLatestBuild() []store.Job {
	ctx := context.Background()
	repo, err := e.rt.Store.RepositoryByPath(ctx, e2eOwner, e2eRepo)
	if err != nil {
		return nil
	}
	bs, err := e.rt.Store.ListBuilds(ctx, store.BuildQuery{RepoID: repo.ID})
	if err != nil || len(bs) == 0 {
		return nil
	}
	js, _ := e.rt.Store.JobsOfBuild(ctx, bs[0].ID)
	return js
}

var (
	binaryOnce sync.Once
	binaryDir  string // removed by TestMain
	binaryPath string
	binaryErr  error
)

// buildBinary builds cmd/openwrt-ppa once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	goBin := testenv.NeedCommand(t, "go")
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "openwrt-ppa-e2e-bin-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "openwrt-ppa")
		out, err := exec.Command(goBin, "build", "-o", binaryPath, "github.com/openwrt-ppa/openwrt-ppa/cmd/openwrt-ppa").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// workerProc is an `openwrt-ppa worker` process.
type workerProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	id   string // its WorkerID, host:pid
	log  *testenv.SyncBuffer
	done chan struct{}
}

// startWorker runs `openwrt-ppa worker` against e's Redis and data dir, configured by flags and
// OPENWRT_PPA_* environment as an operator would. At cleanup it is stopped and every container
// and volume it labelled is removed.
func startWorker(t *testing.T, e *e2e, bin string) *workerProc {
	t.Helper()
	cmd := exec.Command(bin, "worker", "--redis", e.cfg.Redis, "--data", e.cfg.Data, "--image", e.image,
		"--network", "none", "--build-tmpfs", "--visibility-timeout", "5s", "--shutdown-grace", "1s",
		"--job-timeout", "2m", "--public-url", e.url, "--feed-url-rewrite", strings.Join(e.cfg.FeedRewrites, ","),
		"--github-app-id", strconv.Itoa(int(e.cfg.GitHubAppID)), "--github-private-key-file", e.cfg.GitHubPrivateKeyFile)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, app.EnvPrefix) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, app.EnvName("key-encryption-key")+"="+e.cfg.KeyEncryptionKey.Reveal(),
		app.EnvName("github-api-url")+"="+e.cfg.GitHubAPIURL,
		app.EnvName("github-webhook-secret")+"="+e.cfg.GitHubWebhookSecret.Reveal())
	w := &workerProc{t: t, cmd: cmd, log: &testenv.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.log, w.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the worker: %v", err)
	}
	host, _ := os.Hostname()
	w.id = host + ":" + strconv.Itoa(cmd.Process.Pid)
	go func() { _ = cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		w.stop()
		if t.Failed() {
			t.Logf("worker %s log:\n%s", w.id, w.log.String())
		}
		removeWorkerObjects(t, w.id)
	})
	waitFor(t, "the worker to start", func() bool {
		select {
		case <-w.done:
			t.Fatalf("the worker exited at start:\n%s", w.log.String())
		default:
		}
		return strings.Contains(w.log.String(), "worker started")
	})
	return w
}

// kill9 kills the worker as a crash would: no shutdown, no hand-back.
func (w *workerProc) kill9() {
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.done
}

// stop sends SIGTERM and waits for the worker to end; it fails the test if it takes longer
// than its grace period allows. Stopping an ended worker does nothing.
func (w *workerProc) stop() {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
		if code := w.cmd.ProcessState.ExitCode(); code != 0 {
			w.t.Errorf("worker %s exited with %d after SIGTERM", w.id, code)
		}
	case <-time.After(20 * time.Second):
		w.t.Errorf("worker %s did not stop within 20 s of SIGTERM", w.id)
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

// workerContainers lists the containers labelled as made by worker id: its running build
// containers, or all its containers.
func workerContainers(t *testing.T, id string, running bool) []string {
	t.Helper()
	cli := testenv.NeedDocker(t)
	f := make(client.Filters).Add("label", app.WorkerLabel+"="+id)
	if running {
		f = f.Add("status", "running").Add("label", docker.LabelJob)
	}
	cs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: !running, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs.Items {
		names = append(names, c.ID[:12]+" "+string(c.State))
	}
	return names
}

// removeWorkerObjects removes what a worker process labelled: containers, and the cache volumes
// it created.
func removeWorkerObjects(t *testing.T, id string) {
	cli, err := testenv.NewDockerClient(context.Background())
	if err != nil {
		return
	}
	defer cli.Close()
	ctx := context.Background()
	f := make(client.Filters).Add("label", app.WorkerLabel+"="+id)
	if cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range cs.Items {
			t.Errorf("worker %s left container %.12s (%s) behind", id, c.ID, c.State)
			_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f}); err == nil {
		for _, v := range vs.Items {
			_, _ = cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
}
