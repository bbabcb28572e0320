package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestShutdownHandsRunningJobBack stops a worker whose build hangs: after the grace period the
// build is stopped, the job is queued again (status and check "queued"), and the next worker
// builds and publishes it. The fake executor stands in for Docker; the rest is real.
func TestShutdownHandsRunningJobBack(t *testing.T) {
	e := &e2e{t: t, gh: forgetest.NewGitHub(t), git: testenv.StartGitServer(t)}
	e.gh.AddInstallation(e2eFull, e2eInstall)
	e.cfg = app.Config{Data: t.TempDir(), Workers: 0, JobTimeout: time.Minute, QueueLimit: 100, KeepBuilds: 20,
		PRFeedTTL: time.Hour, ShutdownGrace: 300 * time.Millisecond, VisibilityTime: 10 * time.Second,
		GitHubAppID: forgetest.GitHubAppID, GitHubPrivateKeyFile: githubAppKey(t, e.gh), GitHubAPIURL: e.gh.URL,
		GitHubWebhookSecret: e2eSecret}
	e.start()

	hanging := &buildertest.Executor{Script: func(builder.JobSpec) buildertest.Outcome { return buildertest.Outcome{Hang: true} }}
	first, firstDone := runWorker(t, e, hanging, "first")

	sha := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("s1", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	waitFor(t, "the first worker to be building", func() bool {
		js := e.jobsOfLatestBuild()
		return len(js) == 1 && js[0].Status == store.StatusRunning && len(hanging.Started()) == 1
	})

	stopped := time.Now()
	first()
	select {
	case <-firstDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop within 10 s of a 300 ms grace period")
	}
	t.Logf("the worker stopped %s after the shutdown began", time.Since(stopped).Round(time.Millisecond))
	if n := hanging.Open(); n != 0 {
		t.Errorf("%d builds still open after the worker stopped", n)
	}
	j := e.jobsOfLatestBuild()[0]
	if j.Status != store.StatusQueued || j.WorkerID != "" || j.Attempts != 1 {
		t.Fatalf("handed-back job %+v, want queued, no worker, one attempt", j)
	}
	if n, err := e.rt.Queue.Len(context.Background()); err != nil || n != 1 {
		t.Fatalf("queue holds %d waiting jobs (%v), want the handed-back one", n, err)
	}
	if run := e.checkRun(j); run["status"] != "queued" {
		t.Errorf("check run after the hand-back %v, want queued", run)
	}

	building := &buildertest.Executor{}
	second, secondDone := runWorker(t, e, building, "second")
	b := e.waitBuilds(1)[0]
	j = e.jobs(b.ID)[0]
	if b.Status != store.StatusSuccess || j.Status != store.StatusSuccess || j.WorkerID != "second/0" || j.Attempts != 2 {
		t.Fatalf("build %+v job %+v, want success by the second worker on the second attempt", b, j)
	}
	if code, body := e.get("/alice/pkgs/main/24.10/x86_64/Packages"); code != http.StatusOK || !strings.Contains(string(body), "Package: hello\n") {
		t.Errorf("feed after the second worker: %d\n%s", code, body)
	}
	if run := e.checkRun(j); run["status"] != "completed" || run["conclusion"] != "success" {
		t.Errorf("check run %v", run)
	}
	second()
	<-secondDone
}

// runWorker runs an in-process worker on the service's queue until the returned stop is called
// (or the test ends); done is closed when Run returned.
func runWorker(t *testing.T, e *e2e, ex builder.Executor, id string) (stop func(), done <-chan struct{}) {
	t.Helper()
	w, err := app.NewWorker(e.rt.Service, app.WorkerDeps{Executor: ex, Logs: e.rt.Logs, ID: id})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	go func() { w.Run(ctx); close(ch) }()
	t.Cleanup(func() { cancel(); <-ch })
	return cancel, ch
}
