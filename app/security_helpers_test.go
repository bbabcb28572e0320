package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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

// newFakeE2E is the whole service on loopback (embedded store, real git server, fake GitHub)
// with no worker of its own: a test runs one with startFakeWorker, whose builds the fake
// executor plays out, so no Docker is needed. The repository is alice/pkgs on the git server.
func newFakeE2E(t *testing.T, tweak func(*app.Config)) *e2e {
	t.Helper()
	e := &e2e{t: t, gh: forgetest.NewGitHub(t), git: testenv.StartGitServer(t), gitRepo: e2eFull}
	e.gh.AddInstallation(e2eFull, e2eInstall)
	e.cfg = app.Config{Data: t.TempDir(), Workers: 0, JobTimeout: time.Minute, QueueLimit: 100, KeepBuilds: 20,
		PRFeedTTL: time.Hour, ShutdownGrace: time.Second, VisibilityTime: 10 * time.Second,
		GitHubAppID: forgetest.GitHubAppID, GitHubPrivateKeyFile: githubAppKey(t, e.gh), GitHubAPIURL: e.gh.URL,
		GitHubWebhookSecret: e2eSecret}
	if tweak != nil {
		tweak(&e.cfg)
	}
	e.start()
	return e
}

// digestExecutor is the fake executor with the image digests a Docker engine would tell.
type digestExecutor struct {
	*buildertest.Executor
	digest string // "" when the engine does not know the image
}

func (d *digestExecutor) ImageDigest(context.Context, string) (string, error) { return d.digest, nil }

var _ builder.Executor = (*digestExecutor)(nil)

// startFakeWorker runs a worker whose builds the fake executor plays out (every package
// builds), and whose engine knows every image by digest.
func startFakeWorker(t *testing.T, e *e2e) *digestExecutor {
	t.Helper()
	ex := &digestExecutor{Executor: &buildertest.Executor{}, digest: "sha256:" + strings.Repeat("5e", 32)}
	runWorker(t, e, ex, "fake")
	return ex
}

// commitWithSubmodules commits files and a gitlink per subs entry (path → URL and commit) on
// main of the git server's repository name, and returns the commit.
func commitWithSubmodules(t *testing.T, srv *testenv.GitServer, name string, files map[string]string, subs map[string][2]string) string {
	t.Helper()
	var gm strings.Builder
	for p, s := range subs {
		fmt.Fprintf(&gm, "[submodule %q]\n\tpath = %s\n\turl = %s\n", p, p, s[0])
	}
	files[".gitmodules"] = gm.String()
	dir, _ := testenv.GitRepo(t, files)
	for p, s := range subs { // a gitlink, without cloning the submodule
		testenv.Git(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+s[1]+","+p)
	}
	testenv.Git(t, dir, "commit", "-q", "--amend", "-m", "submodules")
	bare := filepath.Join(srv.Root, name+".git")
	if _, err := os.Stat(bare); err != nil {
		testenv.Git(t, "", "init", "-q", "--bare", "-b", "main", bare)
	}
	testenv.Git(t, dir, "push", "-q", "-f", bare, "HEAD:refs/heads/main")
	return strings.TrimSpace(testenv.Git(t, dir, "rev-parse", "HEAD"))
}

// waitBuild waits for the build of sha to finish and returns it and its one job.
func (e *e2e) waitBuild(sha string) (store.Build, store.Job) {
	e.t.Helper()
	var b store.Build
	waitFor(e.t, "the build of "+sha[:8]+" to finish", func() bool {
		repo, err := e.rt.Store.RepositoryByPath(context.Background(), e2eOwner, e2eRepo)
		if err != nil {
			return false
		}
		bs, err := e.rt.Store.ListBuilds(context.Background(), store.BuildQuery{RepoID: repo.ID})
		if err != nil {
			return false
		}
		for _, x := range bs {
			if x.CommitSHA == sha && x.Status.Final() {
				b = x
				return true
			}
		}
		return false
	})
	js := e.jobs(b.ID)
	if len(js) != 1 {
		e.t.Fatalf("build %d has %d jobs, want 1", b.ID, len(js))
	}
	return b, js[0]
}

// setRef points ref of the git server's repository name at commit.
func setRef(t *testing.T, srv *testenv.GitServer, name, ref, commit string) {
	t.Helper()
	testenv.Git(t, filepath.Join(srv.Root, name+".git"), "update-ref", ref, commit)
}

// pull delivers a pull_request event (opened, synchronize) of number with head sha from a
// branch of the repository itself, written at the time at.
func (e *e2e) pull(delivery, action string, number int, sha string, at time.Time) int {
	e.t.Helper()
	return e.pullFrom(delivery, action, number, sha, at, false)
}

// forkRepoID is the GitHub id of the fork pull requests come from.
const forkRepoID = 555

// pullFrom is pull, from a fork when fork is set.
func (e *e2e) pullFrom(delivery, action string, number int, sha string, at time.Time, fork bool) int {
	e.t.Helper()
	body := forgetest.Rewrite(e.t, forgetest.Payload(e.t, "github/pull_request/opened.json"), func(doc map[string]any) {
		e.repoJSON(doc)
		doc["action"], doc["number"] = action, number
		pr := forgetest.Obj(e.t, doc, "pull_request")
		pr["number"], pr["updated_at"] = number, at.UTC().Format(time.RFC3339)
		head := doc["repository"]
		if fork {
			head = map[string]any{"id": forkRepoID, "name": e2eRepo, "full_name": "mallory/" + e2eRepo, "fork": true,
				"owner": map[string]any{"login": "mallory", "id": 3, "type": "User"}}
		}
		pr["head"] = map[string]any{"ref": "feature", "sha": sha, "repo": head}
		pr["base"] = map[string]any{"ref": "main", "sha": sha, "repo": doc["repository"]}
		doc["sender"] = map[string]any{"login": e2eOwner, "id": 1}
	})
	return e.deliver("pull_request", delivery, body)
}

// GitLab's side of the tests: project glProject (routers/feeds/wifi-tools) on a fake GitLab.
const (
	glProject = 4242
	glSecret  = "gitlab-webhook-token"
)

// withGitLab configures the fake GitLab gl as the service's GitLab, with the shared webhook token.
func withGitLab(gl *forgetest.GitLab) func(*app.Config) {
	return func(c *app.Config) {
		c.GitLabURL, c.GitLabToken, c.GitLabWebhookSecret = gl.URL, forgetest.GitLabToken, glSecret
	}
}

// deliverGitLab posts a GitLab webhook body with token and returns the status.
func (e *e2e) deliverGitLab(file, uuid, token string, body []byte) int {
	e.t.Helper()
	req, err := forgetest.GitLabRequest(e.url+"/webhooks/gitlab", forgetest.GitLabEvent(file), uuid, token, body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// mergeRequestHook is merge_request_open.json for merge request iid at sha, claiming to come
// from project source.
func mergeRequestHook(t *testing.T, iid int, sha string, source int64) []byte {
	return forgetest.Rewrite(t, forgetest.Payload(t, "gitlab/merge_request_open.json"), func(doc map[string]any) {
		oa := forgetest.Obj(t, doc, "object_attributes")
		oa["iid"], oa["source_project_id"], oa["target_project_id"] = iid, source, glProject
		oa["updated_at"] = time.Now().UTC().Format("2006-01-02 15:04:05 MST")
		forgetest.Obj(t, oa, "last_commit")["id"] = sha
	})
}

// eventsDone waits until the service has handled every stored event.
func (e *e2e) eventsDone() {
	e.t.Helper()
	waitFor(e.t, "every event to be handled", func() bool {
		evs, err := e.rt.Store.UnprocessedEvents(context.Background(), 10)
		return err == nil && len(evs) == 0
	})
}
