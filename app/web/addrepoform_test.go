package web

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAddRepoForm: the "Add a repository" form registers through the Registrar for signed-in
// users with the session's CSRF token, shows refusals with the Registrar's own message (as the
// API does) and keeps what was typed, and on success shows the webhook URL, its secret and,
// for ssh, the deploy key; the repository page shows them again to the adder only.
func TestAddRepoForm(t *testing.T) {
	fx := newFixture(t)
	fx.auth.writers["dave/private"] = []string{"github:alice"} // the app's Authorizer says so for the adder
	alice := fx.signIn(t, "alice")
	token := csrfOf(t, fx, alice, addRepoPath)
	mallory := fx.signIn(t, "mallory")
	malloryToken := csrfOf(t, fx, mallory, addRepoPath)

	if code, _, body := get(t, fx.client(t), fx.srv.URL+addRepoPath); code != http.StatusUnauthorized || !strings.Contains(body, "Sign in to add a repository") {
		t.Errorf("anonymous GET: %d", code)
	}
	if _, _, body := get(t, alice, fx.srv.URL+"/"); !strings.Contains(body, `href="/-/add"`) {
		t.Error("the signed-in home page has no Add a repository link")
	}
	if _, _, body := get(t, fx.client(t), fx.srv.URL+"/"); strings.Contains(body, `href="/-/add"`) {
		t.Error("the anonymous home page offers Add a repository")
	}

	cases := []struct {
		name, csrf, url, repoName string
		c                         *http.Client
		status                    int
		want                      []string
	}{
		{"anonymous", "", "https://codeberg.org/carol/feed.git", "", fx.client(t), 401, []string{"Sign in to add a repository"}},
		{"without the CSRF token", "", "https://codeberg.org/carol/feed.git", "", alice, 403, []string{"Form expired"}},
		{"with another session's token", malloryToken, "https://codeberg.org/carol/feed.git", "", alice, 403, []string{"Form expired"}},
		{"a refused URL", token, "http://example.org/a/b.git", "", alice, 400, []string{"is not https", `value="http://example.org/a/b.git"`}},
		{"a name held", token, "https://codeberg.org/x/y.git", "alice/packages", alice, 409, []string{"choose another with --name", `value="alice/packages"`}},
		{"https", token, "https://codeberg.org/carol/feed.git", "", alice, 201, []string{"Added", "http://x/webhooks/git/", "secret-"}},
		{"ssh", token, "ssh://git@codeberg.org/dave/private.git", "dave/private", alice, 201, []string{"ssh-ed25519 AAAAfake", "openwrt-ppa dave/private", "webhooks/git/"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"url": {tc.url}, "name": {tc.repoName}}
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			}
			resp, err := noRedirect(tc.c).PostForm(fx.srv.URL+addRepoPath, form)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := html.UnescapeString(string(raw))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d:\n%s", resp.StatusCode, tc.status, body)
			}
			if cc := resp.Header.Get("Cache-Control"); tc.status == http.StatusCreated && cc != "private, no-store" {
				t.Errorf("the page showing the webhook secret says Cache-Control %q, want private, no-store", cc)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q:\n%s", w, body)
				}
			}
		})
	}

	// The repository pages show the remote's details to the adder, not to others.
	for _, c := range []struct {
		path, want string
	}{{"/carol/feed", "secret-"}, {"/dave/private", "ssh-ed25519 AAAAfake"}} {
		if code, _, body := get(t, alice, fx.srv.URL+c.path); code != 200 || !strings.Contains(body, c.want) || !strings.Contains(body, "webhook-url") {
			t.Errorf("%s as its adder: %d, want the remote's details (%q)", c.path, code, c.want)
		}
	}
	for c, want := range map[*http.Client]string{alice: "private, no-store", mallory: "no-cache"} {
		resp, err := c.Get(fx.srv.URL + "/carol/feed")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != want {
			t.Errorf("/carol/feed: Cache-Control %q, want %q (no-store where it shows the secret)", cc, want)
		}
	}
	if code, _, body := get(t, mallory, fx.srv.URL+"/carol/feed"); code != 200 || strings.Contains(body, "secret-") || strings.Contains(body, "webhook-url") {
		t.Errorf("/carol/feed as another user: %d, shows the webhook secret", code)
	}
	if code, _, _ := get(t, mallory, fx.srv.URL+"/dave/private"); code != http.StatusNotFound {
		t.Errorf("the private repository by URL as another user: %d, want 404", code)
	}
}
