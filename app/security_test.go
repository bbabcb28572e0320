package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// TestSubmoduleCredentialsOnlyForTheOwnersRepositories: a private repository's submodule of
// the same owner is fetched with the installation's token; one of another owner's private
// repositories on the same forge is not, and the job fails once with the refusal on its check
// (not as a failure of the service).
func TestSubmoduleCredentialsOnlyForTheOwnersRepositories(t *testing.T) {
	e := newFakeE2E(t, nil)
	e.private = true
	e.git.RequireAuth(func(user, pass string) bool {
		_, ok := e.gh.TokenInstallation(pass)
		return user == "x-access-token" && ok
	})
	ex := startFakeWorker(t, e)
	lib := e.git.Commit(t, "alice/lib", "main", map[string]string{"lib.txt": "alice's\n"})
	secret := e.git.Commit(t, "bob/secret", "main", map[string]string{"key": "bob's\n"})
	pkgs := repoFiles(e2eConfig, map[string]string{"hello": "1.0"})

	own := commitWithSubmodules(t, e.git, e2eFull, pkgs, map[string][2]string{"lib": {"../lib.git", lib}})
	e.gh.SetFile(e2eFull, own, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("own", "main", zeroSHA, own); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	if b, j := e.waitBuild(own); b.Status != store.StatusSuccess {
		t.Fatalf("a submodule of the owner's own repository: build %s, %s", b.Status, j.Result)
	}

	pkgs = repoFiles(e2eConfig, map[string]string{"hello": "1.1"})
	other := commitWithSubmodules(t, e.git, e2eFull, pkgs, map[string][2]string{"vendor": {"../../bob/secret.git", secret}})
	e.gh.SetFile(e2eFull, other, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("other", "main", own, other); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	b, j := e.waitBuild(other)
	if b.Status != store.StatusFailure || j.Attempts != 1 {
		t.Fatalf("another owner's private submodule: build %s after %d attempts, want one failure", b.Status, j.Attempts)
	}
	run := e.checkRun(j)
	title, _ := run["output"].(map[string]any)["title"].(string)
	sum := summaryOf(run)
	if title != "checkout refused" || !strings.Contains(sum, "submodule vendor") || !strings.Contains(sum, "may not read it") || strings.Contains(sum, "build service failed") {
		t.Fatalf("check %q:\n%s\nwant the submodule's refusal, not a service failure", title, sum)
	}
	if n := len(ex.Started()); n != 1 {
		t.Fatalf("%d builds started, want the first only", n)
	}
}

// bombMakefile is a package Makefile whose variables expand to gigabytes (hole 2 of issue 9).
func bombMakefile(name string) string {
	var b strings.Builder
	b.WriteString("include $(TOPDIR)/rules.mk\nPKG_NAME:=" + name + "\nA = " + strings.Repeat("x", 64<<10) + "\n")
	for range 4096 {
		b.WriteString("B := $(A)\n")
	}
	b.WriteString("include $(INCLUDE_DIR)/package.mk\ndefine Package/" + name + "\n  TITLE:=$(B)\nendef\n$(eval $(call BuildPackage," + name + "))\n")
	return b.String()
}

// TestRefusedMakefilesShowOnTheCheck: a Makefile refused while it is read is named on the check
// with the reason, beside the packages that built and when nothing else is left to build.
func TestRefusedMakefilesShowOnTheCheck(t *testing.T) {
	e := newFakeE2E(t, nil)
	startFakeWorker(t, e)
	files := repoFiles(e2eConfig, map[string]string{"hello": "1.0"})
	files["net/bomb/Makefile"] = bombMakefile("bomb")
	mixed := e.git.Commit(t, e2eFull, "main", files)
	e.gh.SetFile(e2eFull, mixed, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("mixed", "main", zeroSHA, mixed); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	_, j := e.waitBuild(mixed)
	if sum := summaryOf(e.checkRun(j)); !strings.Contains(sum, "| bomb |") || !strings.Contains(sum, "expanding its variables takes more than") {
		t.Fatalf("check summary of a build beside a refused Makefile:\n%s", sum)
	}

	only := e.git.Commit(t, e2eFull, "main", map[string]string{".openwrt-ppa.yml": e2eConfig,
		"net/bomb/Makefile": bombMakefile("bomb"), "utils/bomb2/Makefile": bombMakefile("bomb2")})
	e.gh.SetFile(e2eFull, only, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("only", "main", mixed, only); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	b, j := e.waitBuild(only)
	sum := summaryOf(e.checkRun(j))
	if b.Status != store.StatusFailure || !strings.Contains(sum, "| bomb |") || !strings.Contains(sum, "| bomb2 |") {
		t.Fatalf("build %s; check summary when every Makefile is refused:\n%s\nwant each named with its reason", b.Status, sum)
	}
}

// TestPullRequestResultIsNotReusedForABranch: a pull request's build of a commit never stands for
// a branch build of the same commit (its caches may be poisoned, the branch publishes with the
// main key), while a branch's result does stand for a tag's.
func TestPullRequestResultIsNotReusedForABranch(t *testing.T) {
	e := newFakeE2E(t, nil)
	ex := startFakeWorker(t, e)
	sha := e.git.Commit(t, e2eFull, "feature", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	setRef(t, e.git, e2eFull, "refs/pull/7/head", sha)
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.pull("pr", "opened", 7, sha, time.Now()); code != http.StatusAccepted {
		t.Fatalf("pull request answered %d", code)
	}
	if b, j := e.waitBuild(sha); b.Ref.Kind != store.RefPR || b.Status != store.StatusSuccess || j.ContentKey == "" {
		t.Fatalf("pull request build %+v job %+v", b, j)
	}

	setRef(t, e.git, e2eFull, "refs/heads/main", sha)
	if code := e.push("main", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	branch := e.waitBuilds(2)[0]
	bj := e.jobs(branch.ID)[0]
	if branch.Ref.Kind != store.RefBranch || bj.Status != store.StatusSuccess || strings.Contains(string(bj.Result), "reused_from") {
		t.Fatalf("branch build %+v job %s: want built, not reused", branch, bj.Result)
	}
	if n := len(ex.Started()); n != 2 {
		t.Fatalf("%d builds ran, want the pull request's and the branch's", n)
	}

	e.git.Tag(t, e2eFull, "v1", sha)
	if code := e.pushRef("tag", "refs/tags/v1", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("tag push answered %d", code)
	}
	tag := e.waitBuilds(3)[0]
	tj := e.jobs(tag.ID)[0]
	if tag.Ref.Kind != store.RefTag || tj.Status != store.StatusSuccess || !strings.Contains(string(tj.Result), fmt.Sprintf(`"reused_from":%d`, bj.ID)) {
		t.Fatalf("tag build %+v job %s: want the branch's result reused", tag, tj.Result)
	}
	if n := len(ex.Started()); n != 2 {
		t.Fatalf("%d builds ran, want the tag's reused", n)
	}
}

// TestForgedMergeRequestHookBuildsNoForkCode: whoever knows GitLab's webhook token can claim a
// fork's merge request comes from the project itself (source_project_id = target); the service
// asks GitLab first and builds nothing without a /rebuild, while a real one of the project builds.
func TestForgedMergeRequestHookBuildsNoForkCode(t *testing.T) {
	gl := forgetest.NewGitLab(t)
	e := newFakeE2E(t, withGitLab(gl))
	sha := e.git.Commit(t, "routers/feeds/wifi-tools", "iw-scan", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	gl.SetProject(glProject, "routers/feeds", "wifi-tools", e.git.RepoURL("routers/feeds/wifi-tools"), "public")
	gl.SetFile(glProject, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	gl.SetMergeRequest(glProject, 12, sha, "iw-scan", "main", 999) // from the fork, project 999
	gl.SetMergeRequest(glProject, 13, sha, "iw-scan", "main", glProject)

	if code := e.deliverGitLab("merge_request_open.json", "forged", glSecret, mergeRequestHook(t, 12, sha, glProject)); code != http.StatusAccepted {
		t.Fatalf("forged hook answered %d", code)
	}
	e.eventsDone()
	if bs := e.gitLabBuilds(); len(bs) != 0 {
		t.Fatalf("a forged merge request hook built the fork's code: %+v", bs)
	}
	if code := e.deliverGitLab("merge_request_open.json", "real", glSecret, mergeRequestHook(t, 13, sha, glProject)); code != http.StatusAccepted {
		t.Fatalf("hook answered %d", code)
	}
	waitFor(t, "the project's own merge request to build", func() bool { return len(e.gitLabBuilds()) == 1 })
	if b := e.gitLabBuilds()[0]; b.Ref != store.PRRef(13) || b.CommitSHA != sha {
		t.Fatalf("build %+v, want !13 at %s", b, sha)
	}
}

// gitLabBuilds are the builds of the GitLab project.
func (e *e2e) gitLabBuilds() []store.Build {
	e.t.Helper()
	repo, err := e.rt.Store.RepositoryByPath(context.Background(), "routers/feeds", "wifi-tools")
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	bs, err := e.rt.Store.ListBuilds(context.Background(), store.BuildQuery{RepoID: repo.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	return bs
}

// TestOneCheckRunPerJob: a worker that starts a job before the "queued" check run is recorded
// (the forge answers it slowly; in Redis mode the worker is another process) reports on the same
// check run; none is left "in progress" forever beside it.
func TestOneCheckRunPerJob(t *testing.T) {
	e := newFakeE2E(t, nil)
	e.gh.Watch(func(c forgetest.Call) {
		if c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/check-runs") && strings.Contains(string(c.Body), `"status":"queued"`) {
			time.Sleep(1500 * time.Millisecond) // the worker takes the job meanwhile
		}
	})
	startFakeWorker(t, e)
	sha := e.git.Commit(t, e2eFull, "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("p", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	_, j := e.waitBuild(sha)
	var created []string
	for _, c := range e.gh.Calls() {
		if c.Method == http.MethodPost && strings.HasSuffix(c.Path, "/check-runs") {
			created = append(created, string(c.Body))
		}
	}
	if len(created) != 1 {
		t.Fatalf("%d check runs created for one job, want 1:\n%s", len(created), strings.Join(created, "\n"))
	}
	if run := e.checkRun(j); run["status"] != "completed" || run["conclusion"] != "success" {
		t.Fatalf("the job's check run %v", run)
	}
}

// TestGitLabSecretsPerProject: with no shared token, a GitLab delivery is taken only with a
// secret an admin registered for its project (stored as a hash); one registered for another
// project, or none, is refused.
func TestGitLabSecretsPerProject(t *testing.T) {
	gl := forgetest.NewGitLab(t)
	e := newFakeE2E(t, func(c *app.Config) {
		withGitLab(gl)(c)
		c.GitLabWebhookSecret = ""
	})
	ctx := context.Background()
	reg := func(project int64, secret string) {
		sum := sha256.Sum256([]byte(secret))
		if _, err := e.rt.Store.AddWebhookSecret(ctx, store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeProject,
			ScopeID: project, SHA256: hex.EncodeToString(sum[:])}); err != nil {
			t.Fatal(err)
		}
	}
	reg(glProject, "wifi-tools-secret")
	reg(777, "other-secret")
	sha := strings.Repeat("ab", 20)
	for _, c := range []struct {
		token string
		want  int
	}{{"wifi-tools-secret", http.StatusAccepted}, {"other-secret", http.StatusUnauthorized}, {"guess", http.StatusUnauthorized}} {
		if code := e.deliverGitLab("merge_request_open.json", "d-"+c.token, c.token, mergeRequestHook(t, 12, sha, glProject)); code != c.want {
			t.Errorf("delivery for project %d with %q answered %d, want %d", glProject, c.token, code, c.want)
		}
	}
}

// TestRebuildBuildsTheHeadAsOfTheComment: a maintainer's /rebuild of a fork's pull request
// builds the head they saw; when the fork's author pushed after the comment was written (and
// before it was handled), nothing is built and the maintainer is told.
func TestRebuildBuildsTheHeadAsOfTheComment(t *testing.T) {
	e := newFakeE2E(t, nil)
	e.gh.SetPermission(e2eFull, "maint", "write")
	a := e.git.Commit(t, e2eFull, "fork-a", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	b := e.git.Commit(t, e2eFull, "fork-b", repoFiles(e2eConfig, map[string]string{"hello": "6.6.6"}))
	for _, sha := range []string{a, b} {
		e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	}
	t0 := time.Now().Add(-time.Hour)
	e.gh.SetPull(e2eFull, 9, a, "feature", "main", forkRepoID, e2eRepoID)
	if code := e.pullFrom("open", "opened", 9, a, t0, true); code != http.StatusAccepted {
		t.Fatalf("pull request answered %d", code)
	}
	e.eventsDone()
	if code := e.commentAt("c1", 9, "maint", "/rebuild", t0.Add(10*time.Minute)); code != http.StatusAccepted {
		t.Fatalf("comment answered %d", code)
	}
	e.eventsDone()
	if got := e.buildShas(); len(got) != 1 || got[0] != a {
		t.Fatalf("builds of %q, want the head the comment saw, %s", got, a[:8])
	}

	// The fork pushes b at t0+30m; a comment written at t0+20m is handled only now.
	e.gh.SetPull(e2eFull, 9, b, "feature", "main", forkRepoID, e2eRepoID)
	if code := e.pullFrom("push", "synchronize", 9, b, t0.Add(30*time.Minute), true); code != http.StatusAccepted {
		t.Fatalf("pull request answered %d", code)
	}
	e.eventsDone()
	if code := e.commentAt("c2", 9, "maint", "/rebuild", t0.Add(20*time.Minute)); code != http.StatusAccepted {
		t.Fatalf("comment answered %d", code)
	}
	e.eventsDone()
	if got := e.buildShas(); len(got) != 1 {
		t.Fatalf("builds of %q: the head pushed after the comment was built on its word", got)
	}
	var replied bool
	for _, c := range e.gh.Comments() {
		body, _ := c["body"].(string)
		replied = replied || strings.Contains(body, "after your comment")
	}
	if !replied {
		t.Fatalf("no reply told the maintainer why: %v", e.gh.Comments())
	}
}

// buildShas are the commits of the repository's builds, newest first.
func (e *e2e) buildShas() []string {
	e.t.Helper()
	repo, err := e.rt.Store.RepositoryByPath(context.Background(), e2eOwner, e2eRepo)
	if err != nil {
		e.t.Fatal(err)
	}
	bs, err := e.rt.Store.ListBuilds(context.Background(), store.BuildQuery{RepoID: repo.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, b := range bs {
		out = append(out, b.CommitSHA)
	}
	return out
}

// TestGitLabSecretsThroughTheAdminAPI: a secret registered with the admin API is answered once,
// listed without itself, lets its project's deliveries in, and once removed lets none in.
func TestGitLabSecretsThroughTheAdminAPI(t *testing.T) {
	gl := forgetest.NewGitLab(t)
	e := newFakeE2E(t, func(c *app.Config) {
		withGitLab(gl)(c)
		c.GitLabWebhookSecret, c.AdminToken = "", "admin-secret"
	})
	call := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, e.url+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer admin-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		return resp.StatusCode, doc
	}
	code, reg := call("POST", "/admin/gitlab-secrets", fmt.Sprintf(`{"scope_kind": "project", "scope_id": %d, "note": "wifi-tools"}`, glProject))
	secret, _ := reg["secret"].(string)
	if code != http.StatusCreated || len(secret) < 32 {
		t.Fatalf("registering answered %d %v", code, reg)
	}
	if code, list := call("GET", "/admin/gitlab-secrets", ""); code != http.StatusOK || strings.Contains(fmt.Sprint(list), secret) || !strings.Contains(fmt.Sprint(list), "wifi-tools") {
		t.Fatalf("listing answered %d %v", code, list)
	}
	sha := strings.Repeat("cd", 20)
	if code := e.deliverGitLab("merge_request_open.json", "with-secret", secret, mergeRequestHook(t, 12, sha, glProject)); code != http.StatusAccepted {
		t.Fatalf("a delivery with the registered secret answered %d", code)
	}
	if code, _ := call("DELETE", fmt.Sprintf("/admin/gitlab-secrets/%v", reg["id"]), ""); code != http.StatusNoContent {
		t.Fatalf("removing answered %d", code)
	}
	if code := e.deliverGitLab("merge_request_open.json", "after-removal", secret, mergeRequestHook(t, 12, sha, glProject)); code != http.StatusUnauthorized {
		t.Fatalf("a delivery with a removed secret answered %d", code)
	}
}
