package forgetest_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
)

// The pushes GitHubPush writes are what the real GitHub handler reads them as.
func TestGitHubPushBody(t *testing.T) {
	zero := strings.Repeat("0", 40)
	sha, older := strings.Repeat("a1", 20), strings.Repeat("b2", 20)
	cases := []struct {
		name          string
		before, after string
		private       bool
		kind          forge.Kind
		wantSHA       string
	}{
		{"new branch", zero, sha, false, forge.KindPush, sha},
		{"update of a private repository", older, sha, true, forge.KindPush, sha},
		{"deletion", older, zero, false, forge.KindBranchDeleted, ""},
	}
	hook, _ := github.NewWebhook([]byte("s"))
	inbox := forgetest.NewInbox()
	srv := httptest.NewServer(forge.NewWebhookHandler(hook, inbox, forge.WebhookConfig{Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := forgetest.GitHubPush{Owner: "alice", Name: "pkgs", RepoID: 42, Private: c.private,
				CloneURL: "https://git.example.org/alice/pkgs.git", InstallationID: 7,
				Ref: "refs/heads/dev", Before: c.before, After: c.after}.Body(t)
			req, err := forgetest.GitHubRequest(srv.URL, "push", c.name, []byte("s"), body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			evs := inbox.Events()
			if resp.StatusCode != http.StatusAccepted || len(evs) != i+1 {
				t.Fatalf("status %d, %d events; want 202 and %d", resp.StatusCode, len(evs), i+1)
			}
			ev := evs[i]
			r := ev.Repo
			if ev.Kind != c.kind || ev.Ref != "refs/heads/dev" || ev.SHA != c.wantSHA || ev.Actor.Login != "alice" ||
				r.ID != 42 || r.FullName() != "alice/pkgs" || r.Private != c.private || r.Installation != 7 ||
				r.CloneURL != "https://git.example.org/alice/pkgs.git" {
				t.Errorf("event %+v", ev)
			}
		})
	}
}
