package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestPrivateFeedsNeedTheReadToken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tokens, err := keys.LoadTokens(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, dir, func(cfg *Config, d *Deps) {
		cfg.AdminToken = "admin-secret"
		d.Tokens = tokens
	})
	private, err := h.svc.store.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "corp", Name: "secret", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.store.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "2", Owner: "alice", Name: "open"}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(h.cfg.Data, "feeds")
	for _, repo := range []string{"corp/secret", "alice/open"} {
		dir := filepath.Join(root, filepath.FromSlash(repo), "main", "24.10", "x86_64")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Packages"), []byte("Package: x\n\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fh, err := feeds.NewHandler(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	router := h.svc.Router(Handlers{Feeds: fh})
	token := tokens.Token(private)
	// The same key gives the same token after a restart.
	again, _ := keys.LoadTokens(filepath.Join(h.cfg.Data, "keys"))
	if again.Token(private) != token {
		t.Fatal("read token changed across restarts")
	}

	cases := []struct {
		name string
		path string
		auth func(*http.Request)
		want int
	}{
		{"public repository, no token", "/alice/open/main/24.10/x86_64/Packages", nil, 200},
		{"private, no token", "/corp/secret/main/24.10/x86_64/Packages", nil, 401},
		{"private, other case, no token", "/CORP/Secret/main/24.10/x86_64/Packages", nil, 401},
		{"private, wrong token", "/corp/secret/main/24.10/x86_64/Packages", func(r *http.Request) { r.SetBasicAuth("token", "nope") }, 401},
		{"private, read token", "/corp/secret/main/24.10/x86_64/Packages", func(r *http.Request) { r.SetBasicAuth("token", token) }, 200},
		{"private, admin token", "/corp/secret/main/24.10/x86_64/Packages", func(r *http.Request) { r.Header.Set("Authorization", "Bearer admin-secret") }, 200},
		{"private key file, no token", "/corp/secret/-/key.pub", nil, 401},
		{"private folder listing, no token", "/corp/secret/main/", nil, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.auth != nil {
				tc.auth(req)
			}
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("%s: %d, want %d (%s)", tc.path, rec.Code, tc.want, rec.Body)
			}
			if tc.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate: opkg would not send the token")
			}
		})
	}
}
