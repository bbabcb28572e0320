package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// TestPrivateRepository builds a repository that the git server serves only to GitHub
// installation tokens, as GitHub does for private repositories, and serves its feed only with
// the repository's read token.
func TestPrivateRepository(t *testing.T) {
	e := newE2E(t)
	e.private = true
	e.git.RequireAuth(func(user, pass string) bool {
		_, ok := e.gh.TokenInstallation(pass)
		return user == "x-access-token" && ok
	})
	e.cfg.AdminToken = "admin-secret"
	e.start()
	sha := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("p1", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	b := e.waitBuilds(1)[0]
	if b.Status != store.StatusSuccess {
		j := e.jobs(b.ID)
		t.Fatalf("private build %s: %s", b.Status, j[0].Result)
	}
	const feed = "/alice/pkgs/main/24.10/x86_64/Packages"
	if code, _ := e.get(feed); code != http.StatusUnauthorized {
		t.Fatalf("a private feed without its token answered %d", code)
	}
	if code, _ := e.get("/alice/pkgs/-/key.pub"); code != http.StatusUnauthorized {
		t.Fatalf("a private key without the token answered %d", code)
	}
	token, err := e.rt.ReadToken(context.Background(), e2eOwner, e2eRepo)
	if err != nil || token == "" {
		t.Fatalf("read token: %q %v", token, err)
	}
	withToken := func(r *http.Request) { r.SetBasicAuth("token", token) }
	if code, body := e.getAs(feed, withToken); code != http.StatusOK || !strings.Contains(string(body), "Package: hello") {
		t.Fatalf("private feed with its token: %d %s", code, body)
	}
	if code, _ := e.getAs(feed, func(r *http.Request) { r.SetBasicAuth("token", "wrong") }); code != http.StatusUnauthorized {
		t.Fatalf("private feed with a wrong token answered %d", code)
	}
}
