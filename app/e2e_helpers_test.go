package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

const (
	e2eOwner   = "alice"
	e2eRepo    = "pkgs"
	e2eFull    = e2eOwner + "/" + e2eRepo
	e2eRepoID  = 9001
	e2eInstall = 77
	e2eSecret  = "webhook-secret"
)

// repoFiles is a repository tree with one package per name ("version[ marker]"), and a
// configuration.
func repoFiles(config string, pkgs map[string]string) map[string]string {
	files := testenv.PackageTree(pkgs)
	files[".openwrt-ppa.yml"] = config
	return files
}

// e2e is a whole service on loopback: the real runtime with its embedded store, the SDK
// stand-in on the real Docker engine, a real git server, and a fake GitHub API.
type e2e struct {
	t       *testing.T
	private bool // the repository is private on the forge
	gh      *forgetest.GitHub
	git     *testenv.GitServer
	cfg     app.Config
	image   string
	label   string
	rt      *app.Runtime
	url     string
	cancel  context.CancelFunc
	done    chan error
	// gitRepo is the repository's path on the git server; empty: e2eRepo.
	gitRepo string
	// wrapExec, when set, wraps the executor start gives the workers (a spy on the specs).
	wrapExec func(builder.Executor) builder.Executor
	// tune, if set, changes the runtime before it serves.
	tune func(*app.Runtime)
	// pullImages lets the executor pull an SDK image the engine lacks, as serve's own does.
	pullImages bool
	// logs, when set, receives the service's log (as well as stderr with -v).
	logs io.Writer
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	testenv.NeedCommand(t, "signify-openbsd")
	e := &e2e{t: t, gh: forgetest.NewGitHub(t), git: testenv.StartGitServer(t), image: testenv.StandinImage(t)}
	e.gh.AddInstallation(e2eFull, e2eInstall)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e.label = hex.EncodeToString(b)
	e.cfg = app.Config{
		Data: t.TempDir(), Image: e.image, Network: "none", Workers: 1, JobTimeout: 2 * time.Minute,
		QueueLimit: 100, KeepBuilds: 20, PRFeedTTL: time.Hour, ShutdownGrace: 5 * time.Second,
		VisibilityTime: 10 * time.Second,
		GitHubAppID:    forgetest.GitHubAppID, GitHubPrivateKeyFile: githubAppKey(t, e.gh), GitHubAPIURL: e.gh.URL,
		GitHubWebhookSecret: e2eSecret,
		// Builds have no network: the standard feeds come from the mirror, fetched from a
		// loopback server holding the stand-in's feeds.
		FeedMirror: true, FeedRewrites: []string{testenv.SharedFeedServer(t).Rewrite()},
	}
	t.Cleanup(e.cleanupDocker)
	return e
}

// start runs the service; stop ends it. The listen address stays across restarts.
func (e *e2e) start() {
	e.t.Helper()
	if e.cfg.Listen == "" {
		e.cfg.Listen = "127.0.0.1:0"
	}
	out := io.Discard
	if testing.Verbose() {
		out = os.Stderr
	}
	if e.logs != nil {
		out = io.MultiWriter(out, e.logs)
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Listen first, so that links the service makes name the real port.
	ln, err := net.Listen("tcp", e.cfg.Listen)
	if err != nil {
		e.t.Fatal(err)
	}
	e.cfg.Listen = ln.Addr().String()
	e.url = "http://" + e.cfg.Listen
	ctx, cancel := context.WithCancel(context.Background())
	rt, err := app.Open(ctx, e.cfg, log)
	if err != nil {
		cancel()
		ln.Close()
		e.t.Fatal(err)
	}
	if e.tune != nil {
		e.tune(rt)
	}
	switch {
	case e.cfg.Workers > 0 && e.cfg.Executor == app.ExecutorKube:
		// The service's own way to the cluster (--executor kube), opened here so that a
		// failure says why instead of being retried in the background.
		if err := rt.OpenExecutor(ctx); err != nil {
			cancel()
			ln.Close()
			_ = rt.Close()
			e.t.Fatal(err)
		}
	case e.cfg.Workers > 0:
		cli := testenv.NeedDocker(e.t)
		mirror, err := rt.FeedMirror()
		if err != nil {
			cancel()
			ln.Close()
			e.t.Fatal(err)
		}
		rt.Executor = docker.New(cli, docker.Options{Network: "none", TmpfsBuildDir: true, FeedMirror: mirror, Pull: e.pullImages, Logger: log,
			CachePrefix: "openwrt-ppa-e2e-" + e.label, Labels: map[string]string{testenv.TestLabel: e.label}})
	}
	if e.wrapExec != nil {
		rt.Executor = e.wrapExec(rt.Executor)
	}
	web, err := rt.Web()
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	e.rt, e.cancel, e.done = rt, cancel, make(chan error, 1)
	go func() { e.done <- rt.Serve(ctx, ln, web) }()
	e.t.Cleanup(e.stop)
}

func (e *e2e) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Error("the service did not stop within 30 s")
	}
	_ = e.rt.Close()
	e.cancel = nil
}

func (e *e2e) cleanupDocker() {
	cli, err := testenv.NewDockerClient(context.Background())
	if err != nil {
		return
	}
	defer cli.Close()
	ctx := context.Background()
	f := make(client.Filters).Add("label", testenv.TestLabel+"="+e.label)
	if cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		if len(cs.Items) > 0 {
			e.t.Errorf("%d build containers left behind", len(cs.Items))
		}
		for _, c := range cs.Items {
			_, _ = cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true})
		}
	}
	if vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f}); err == nil {
		for _, v := range vs.Items {
			_, _ = cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
}

// deliver posts a signed GitHub webhook and returns the status.
func (e *e2e) deliver(event, delivery string, body []byte) int {
	e.t.Helper()
	req, err := forgetest.GitHubRequest(e.url+"/webhooks/github", event, delivery, []byte(e2eSecret), body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// repoJSON is the repository object of our payloads.
func (e *e2e) repoJSON(doc map[string]any) {
	doc["repository"] = map[string]any{
		"id": e2eRepoID, "name": e2eRepo, "full_name": e2eFull, "private": e.private,
		"owner":     map[string]any{"login": e2eOwner, "id": 1, "type": "User"},
		"clone_url": e.git.RepoURL(e.gitName()), "html_url": "https://github.com/" + e2eFull,
		"default_branch": "main", "master_branch": "main",
	}
	doc["installation"] = map[string]any{"id": e2eInstall}
	delete(doc, "organization")
}

// gitName is the repository's path on the git server.
func (e *e2e) gitName() string {
	if e.gitRepo != "" {
		return e.gitRepo
	}
	return e2eRepo
}

// push delivers a push of branch from before to after (a zero after deletes the branch).
func (e *e2e) push(delivery, branch, before, after string) int {
	e.t.Helper()
	return e.pushRef(delivery, "refs/heads/"+branch, before, after)
}

// pushRef delivers a push of a full ref (refs/heads/…, refs/tags/…).
func (e *e2e) pushRef(delivery, ref, before, after string) int {
	e.t.Helper()
	body := forgetest.GitHubPush{Owner: e2eOwner, Name: e2eRepo, RepoID: e2eRepoID, Private: e.private,
		CloneURL: e.git.RepoURL(e.gitName()), InstallationID: e2eInstall, Ref: ref, Before: before, After: after}.Body(e.t)
	return e.deliver("push", delivery, body)
}

// comment delivers a comment on pull request number by login.
func (e *e2e) comment(delivery string, number int, login, text string) int {
	e.t.Helper()
	return e.commentAt(delivery, number, login, text, time.Now())
}

// commentAt is comment, written at the time at.
func (e *e2e) commentAt(delivery string, number int, login, text string, at time.Time) int {
	e.t.Helper()
	body := forgetest.Rewrite(e.t, forgetest.Payload(e.t, "github/issue_comment/rebuild-on-pull.json"), func(doc map[string]any) {
		issue := forgetest.Obj(e.t, doc, "issue")
		issue["number"] = number
		issue["pull_request"] = map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", e2eFull, number)}
		c := forgetest.Obj(e.t, doc, "comment")
		c["body"], c["id"] = text, 555000+number
		c["created_at"], c["updated_at"] = at.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)
		c["user"] = map[string]any{"login": login, "id": 2}
		doc["sender"] = map[string]any{"login": login, "id": 2}
		e.repoJSON(doc)
	})
	return e.deliver("issue_comment", delivery, body)
}

// waitBuilds waits until the repository has n builds, all finished, and returns them newest first.
func (e *e2e) waitBuilds(n int) []store.Build {
	e.t.Helper()
	return e.waitRepoBuilds(e2eOwner, e2eRepo, n)
}

// waitRepoBuilds waits until owner/name has n finished builds and returns them newest first.
func (e *e2e) waitRepoBuilds(owner, name string, n int) []store.Build {
	e.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var bs []store.Build
		repo, err := e.rt.Store.RepositoryByPath(ctx, owner, name)
		if err == nil {
			bs, err = e.rt.Store.ListBuilds(ctx, store.BuildQuery{RepoID: repo.ID})
		}
		done := err == nil && len(bs) >= n
		for _, b := range bs {
			done = done && b.Status.Final()
		}
		if done {
			return bs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("waiting for %d finished builds of %s/%s: have %+v (err %v)", n, owner, name, bs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *e2e) jobs(buildID int64) []store.Job {
	e.t.Helper()
	js, err := e.rt.Store.JobsOfBuild(context.Background(), buildID)
	if err != nil {
		e.t.Fatal(err)
	}
	return js
}

func (e *e2e) get(path string) (int, []byte) {
	e.t.Helper()
	return e.getAs(path, nil)
}

// getAs is get with a request hook (credentials).
func (e *e2e) getAs(path string, auth func(*http.Request)) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// verifyFeed checks a served feed (testenv.VerifyFeed) and returns the packages it lists.
func (e *e2e) verifyFeed(feedPath, keyPath string) map[string]string {
	e.t.Helper()
	return testenv.VerifyFeed(e.t, e.get, feedPath, keyPath)
}

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
