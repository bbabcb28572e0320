package app_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

const urlAdmin = "admin-token-for-url-tests"

// api calls the JSON API with the admin token and decodes the answer.
func (e *e2e) api(method, path, body string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+urlAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// gitServerTLS starts an https git server for repositories by URL and lets the service reach
// it (a private address, its own CA) and poll it every 2 s.
func (e *e2e) gitServerTLS() *testenv.GitServer {
	e.t.Helper()
	gs := testenv.StartGitServerTLS(e.t)
	ca := filepath.Join(e.t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, gs.CertPEM, 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.cfg.ReposAllowPrivate, e.cfg.ReposCAFile, e.cfg.ReposPollInterval = true, ca, 2*time.Second
	return gs
}

// giteaPush is a push webhook body in the shape Gitea and Forgejo send (their documented
// push payload: ref, before, after, the commits, the repository with its clone URL, the
// pusher), written for this test.
func giteaPush(ref, before, after, cloneURL string) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": ref, "before": before, "after": after,
		"compare_url": "https://codeberg.example/carol/feed/compare/" + before[:10] + "..." + after[:10],
		"commits": []any{map[string]any{"id": after, "message": "new version\n", "url": "https://codeberg.example/carol/feed/commit/" + after,
			"author":    map[string]any{"name": "Carol", "email": "carol@example.org", "username": "carol"},
			"timestamp": "2026-11-30T12:00:00Z"}},
		"total_commits": 1,
		"repository": map[string]any{"id": 42, "name": "feed", "full_name": "carol/feed", "private": false,
			"html_url": "https://codeberg.example/carol/feed", "clone_url": cloneURL, "ssh_url": "git@codeberg.example:carol/feed.git",
			"default_branch": "main", "owner": map[string]any{"id": 7, "login": "carol", "username": "carol"}},
		"pusher": map[string]any{"id": 7, "login": "carol", "username": "carol"},
		"sender": map[string]any{"id": 7, "login": "carol", "username": "carol"},
	})
	return b
}

func (e *e2e) postHook(url string, body []byte, header, value string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitea-Event", "push")
	req.Header.Set(header, value)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestEndToEndByURL: a repository added by its URL on a real https git server is built and its
// feed served and verified; a new commit is noticed by polling, the next by the push webhook
// (a Gitea-shaped body, signed; a bad signature refused); refused URLs and a taken name get
// their messages; removing stops polling and keeps the feed.
func TestEndToEndByURL(t *testing.T) {
	e := newE2E(t)
	gs := e.gitServerTLS()
	e.cfg.AdminToken = urlAdmin
	e.start()
	ctx := context.Background()

	sha1 := gs.Commit(t, "carol/feed", "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	code, added := e.api("POST", "/api/v1/repos", `{"url": "`+gs.RepoURL("carol/feed")+`"}`)
	if code != http.StatusCreated || added["owner"] != "carol" || added["name"] != "feed" || added["forge"] != "git" {
		t.Fatalf("POST /api/v1/repos: %d %v", code, added)
	}
	hookURL, _ := added["webhook_url"].(string)
	secret, _ := added["webhook_secret"].(string)
	if !strings.Contains(hookURL, "/webhooks/git/") || secret == "" {
		t.Fatalf("webhook %q secret %q", hookURL, secret)
	}
	hookURL = e.url + hookURL[strings.Index(hookURL, "/webhooks/"):]

	// 1. The first build starts by itself and publishes a signed feed.
	b1 := e.waitRepoBuilds("carol", "feed", 1)[0]
	if b1.Status != store.StatusSuccess || b1.CommitSHA != sha1 || b1.Ref.Name != "main" {
		t.Fatalf("first build %+v", b1)
	}
	if got := e.verifyFeed("/carol/feed/main/24.10/x86_64/", "/carol/feed/-/key.pub"); got["hello"] != "1.0-r1" {
		t.Fatalf("feed lists %v", got)
	}
	if code, page := e.get("/carol/feed"); code != http.StatusOK || !strings.Contains(string(page), "/carol/feed/main/24.10/x86_64") {
		t.Errorf("repository page: %d", code)
	}

	// 2. A new commit is noticed by polling, within the interval.
	sha2 := gs.Commit(t, "carol/feed", "main", repoFiles(e2eConfig, map[string]string{"hello": "1.1"}))
	b2 := e.waitRepoBuilds("carol", "feed", 2)[0]
	if b2.CommitSHA != sha2 || b2.Status != store.StatusSuccess {
		t.Fatalf("polled build %+v", b2)
	}
	if got := e.verifyFeed("/carol/feed/main/24.10/x86_64/", "/carol/feed/-/key.pub"); got["hello"] != "1.1-r1" {
		t.Fatalf("feed after the polled build lists %v", got)
	}

	// 3. With polling far off, the push webhook makes it look at once; a bad signature is refused.
	repo, _ := e.rt.Store.RepositoryByPath(ctx, "carol", "feed")
	waitFor(t, "the poll after build 2 to be recorded", func() bool {
		rem, err := e.rt.Store.Remote(ctx, repo.ID)
		return err == nil && rem.Refs["refs/heads/main"] == sha2
	})
	if _, err := e.rt.Store.UpdateRemote(ctx, repo.ID, func(r *store.Remote) error {
		r.NextPoll = time.Now().Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sha3 := gs.Commit(t, "carol/feed", "main", repoFiles(e2eConfig, map[string]string{"hello": "1.2"}))
	body := giteaPush("refs/heads/main", sha2, sha3, gs.RepoURL("carol/feed"))
	if code := e.postHook(hookURL, body, "X-Gitea-Signature", strings.Repeat("ab", 32)); code != http.StatusUnauthorized {
		t.Fatalf("bad signature answered %d, want 401", code)
	}
	if code := e.postHook(hookURL, body, "X-Gitlab-Token", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("bad token answered %d, want 401", code)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if code := e.postHook(hookURL, body, "X-Gitea-Signature", hex.EncodeToString(mac.Sum(nil))); code != http.StatusAccepted {
		t.Fatalf("signed Gitea push answered %d, want 202", code)
	}
	b3 := e.waitRepoBuilds("carol", "feed", 3)[0]
	if b3.CommitSHA != sha3 || b3.Status != store.StatusSuccess {
		t.Fatalf("webhook build %+v", b3)
	}

	// 3b. A branch main's configuration does not build, whose own does: its build reads the
	// configuration at its commit, which is not on the default branch.
	nextConfig := "series: [\"24.10\"]\narchs: [x86_64]\nbranches: [next]\n"
	sha4 := gs.Commit(t, "carol/feed", "next", repoFiles(nextConfig, map[string]string{"hello": "1.3"}))
	body = giteaPush("refs/heads/next", strings.Repeat("0", 40), sha4, gs.RepoURL("carol/feed"))
	mac = hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if code := e.postHook(hookURL, body, "X-Gitea-Signature", hex.EncodeToString(mac.Sum(nil))); code != http.StatusAccepted {
		t.Fatalf("signed Gitea push of next answered %d, want 202", code)
	}
	b4 := e.waitRepoBuilds("carol", "feed", 4)[0]
	if b4.CommitSHA != sha4 || b4.Ref.Name != "next" || b4.Status != store.StatusSuccess {
		t.Fatalf("build of branch next %+v", b4)
	}
	if got := e.verifyFeed("/carol/feed/next/24.10/x86_64/", "/carol/feed/-/key.pub"); got["hello"] != "1.3-r1" {
		t.Fatalf("feed of branch next lists %v", got)
	}

	// 4. Refused URLs and a taken name, each with its message.
	for _, c := range []struct{ body, want string }{
		{`{"url": "file:///srv/git/x.git"}`, "file:// URLs are refused"},
		{`{"url": "http://example.org/a/b.git"}`, "not encrypted"},
		{`{"url": "https://u:p@example.org/a/b.git"}`, "holds credentials"},
		{`{"url": "` + gs.RepoURL("carol/feed") + `"}`, "--name"},
	} {
		code, out := e.api("POST", "/api/v1/repos", c.body)
		msg := fmt.Sprint(out["error"])
		if code/100 != 4 || !strings.Contains(msg, c.want) {
			t.Errorf("POST %s: %d %s, want a refusal saying %q", c.body, code, msg, c.want)
		}
	}

	// 5. Removed: no more polling or builds; the feed stays.
	if code, out := e.api("DELETE", "/api/v1/repos/carol/feed", ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d %v", code, out)
	}
	waitFor(t, "the repository to be disabled", func() bool {
		r, err := e.rt.Store.Repository(ctx, repo.ID)
		return err == nil && r.Disabled
	})
	if _, err := e.rt.Store.Remote(ctx, repo.ID); err == nil {
		t.Error("the remote is still polled after removal")
	}
	if code, _ := e.get("/carol/feed/main/24.10/x86_64/Packages"); code != http.StatusOK {
		t.Errorf("the feed went with the removal: %d", code)
	}
}
