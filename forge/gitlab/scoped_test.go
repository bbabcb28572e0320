package gitlab_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// secretMap is a SecretLookup in memory; fail makes every lookup fail.
type secretMap struct {
	m    map[[sha256.Size]byte][]gitlab.Scope
	fail error
}

func (s secretMap) WebhookScopes(_ context.Context, sum [sha256.Size]byte) ([]gitlab.Scope, error) {
	return s.m[sum], s.fail
}

// Per-project secrets: a delivery is accepted only for the projects (and groups, as GitLab's
// API has them) its secret was registered for; the shared token, when set, for every project.
func TestScopedWebhook(t *testing.T) {
	const private, public = 4242, 4343 // routers/feeds/wifi-tools, routers/luci-theme-night
	push := forgetest.Payload(t, "gitlab/push.json")
	pushPublic := forgetest.Payload(t, "gitlab/push_public.json")
	// A body naming project 4343 with the path of a project in group "routers": the group
	// check must read 4343's path from GitLab, not from the body.
	outsider := forgetest.Rewrite(t, pushPublic, func(d map[string]any) { d["project_id"] = 4444 })
	g := forgetest.NewGitLab(t)
	g.SetProject(private, "routers/feeds", "wifi-tools", "https://gitlab.example.com/routers/feeds/wifi-tools.git", "private")
	g.SetProject(public, "routers", "luci-theme-night", "https://gitlab.example.com/routers/luci-theme-night.git", "public")
	g.SetProject(4444, "evil", "luci-theme-night", "https://gitlab.example.com/evil/luci-theme-night.git", "public")
	g.SetGroup(9, "routers")
	g.SetGroup(10, "rout") // a prefix of "routers", but not its parent
	lookup := secretMap{m: map[[sha256.Size]byte][]gitlab.Scope{
		sha256.Sum256([]byte("project-secret")): {{ID: private}},
		sha256.Sum256([]byte("group-secret")):   {{Group: true, ID: 9}},
		sha256.Sum256([]byte("prefix-secret")):  {{Group: true, ID: 10}},
		sha256.Sum256([]byte("both-secret")):    {{ID: 1}, {Group: true, ID: 9}},
	}}
	client := newClient(t, g)
	cases := []struct {
		name   string
		shared string
		fail   error
		token  string
		body   []byte
		status int
	}{
		{name: "project secret, its project", token: "project-secret", body: push, status: http.StatusAccepted},
		{name: "project secret, another project", token: "project-secret", body: pushPublic, status: http.StatusUnauthorized},
		{name: "group secret, a project of the group", token: "group-secret", body: pushPublic, status: http.StatusAccepted},
		{name: "group secret, a project of a subgroup", token: "group-secret", body: push, status: http.StatusAccepted},
		{name: "group secret, a body claiming the group's path", token: "group-secret", body: outsider, status: http.StatusUnauthorized},
		{name: "group secret of a name prefix", token: "prefix-secret", body: push, status: http.StatusUnauthorized},
		{name: "project and group scopes", token: "both-secret", body: push, status: http.StatusAccepted},
		{name: "unknown secret", token: "guess", body: push, status: http.StatusUnauthorized},
		{name: "no token", body: push, status: http.StatusUnauthorized},
		{name: "shared token beside secrets", shared: "shared-token", token: "shared-token", body: pushPublic, status: http.StatusAccepted},
		{name: "secrets beside a shared token", shared: "shared-token", token: "project-secret", body: push, status: http.StatusAccepted},
		{name: "the store is down", fail: errors.New("connection refused"), token: "project-secret", body: push, status: http.StatusServiceUnavailable},
		{name: "ignored event with a known secret", token: "project-secret", body: []byte(`{}`), status: http.StatusAccepted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := lookup
			l.fail = c.fail
			wh, err := gitlab.NewScopedWebhook(gitlab.WebhookConfig{SharedToken: []byte(c.shared), Secrets: l, Groups: client})
			if err != nil {
				t.Fatal(err)
			}
			inbox := forgetest.NewInbox()
			h := forge.NewWebhookHandler(wh, inbox, forge.WebhookConfig{Logger: slog.New(slog.DiscardHandler)})
			r := httptest.NewRequest(http.MethodPost, "/webhooks/gitlab", strings.NewReader(string(c.body)))
			event := "Push Hook"
			if string(c.body) == "{}" {
				event = "Pipeline Hook"
			}
			r.Header = headers(event, "u-"+c.name, "")
			if c.token != "" {
				r.Header.Set(gitlab.HeaderToken, c.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != c.status {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, c.status)
			}
			if stored := len(inbox.Events()); (c.status == http.StatusAccepted && event == "Push Hook") != (stored == 1) {
				t.Errorf("%d events stored", stored)
			}
		})
	}
}

func TestNewScopedWebhookNeedsAToken(t *testing.T) {
	if _, err := gitlab.NewScopedWebhook(gitlab.WebhookConfig{}); err == nil {
		t.Fatal("a webhook without shared token or secrets would accept nothing, or everything")
	}
}

// The secrets an admin registers in the store (hashed) are what the webhook accepts.
func TestStoreSecrets(t *testing.T) {
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/db.sqlite")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret, sum, err := gitlab.NewWebhookSecret()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sum, secret) || len(secret) < 40 {
		t.Fatalf("secret %q, hash %q", secret, sum)
	}
	if _, err := db.AddWebhookSecret(t.Context(), store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeProject, ScopeID: 4242, SHA256: sum}); err != nil {
		t.Fatal(err)
	}
	wh, err := gitlab.NewScopedWebhook(gitlab.WebhookConfig{Secrets: gitlab.StoreSecrets(db)})
	if err != nil {
		t.Fatal(err)
	}
	h := headers("Push Hook", "u", "")
	h.Set(gitlab.HeaderToken, secret)
	if err := wh.VerifyContext(t.Context(), h, forgetest.Payload(t, "gitlab/push.json")); err != nil {
		t.Errorf("registered secret, its project: %v", err)
	}
	if err := wh.VerifyContext(t.Context(), h, forgetest.Payload(t, "gitlab/push_public.json")); !errors.Is(err, forge.ErrUnauthorized) {
		t.Errorf("registered secret, another project: %v", err)
	}
	other, _, _ := gitlab.NewWebhookSecret()
	h.Set(gitlab.HeaderToken, other)
	if err := wh.VerifyContext(t.Context(), h, forgetest.Payload(t, "gitlab/push.json")); !errors.Is(err, forge.ErrUnauthorized) {
		t.Errorf("unregistered secret: %v", err)
	}
}
