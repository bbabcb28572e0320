package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token from a page the client sees.
func csrfOf(t *testing.T, fx *fixture, c *http.Client, path string) string {
	t.Helper()
	_, _, body := get(t, c, fx.srv.URL+path)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// noRedirect returns a copy of c that stops at redirects.
func noRedirect(c *http.Client) *http.Client {
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

func TestRebuildForm(t *testing.T) {
	fx := newFixture(t)
	buildPath := fmt.Sprintf("/alice/packages/-/builds/%d", fx.mainBuild.ID)
	alice := fx.signIn(t, "alice")
	token := csrfOf(t, fx, alice, buildPath)
	mallory := fx.signIn(t, "mallory")
	malloryToken := csrfOf(t, fx, mallory, "/logout")
	cases := []struct {
		name   string
		c      *http.Client
		csrf   string
		path   string
		status int
		want   string
	}{
		{"anonymous", fx.client(t), "", buildPath, 401, "Sign in to rebuild"},
		{"without the CSRF token", alice, "", buildPath, 403, "Form expired"},
		{"with another session's token", alice, malloryToken, buildPath, 403, "Form expired"},
		{"without write access", mallory, malloryToken, buildPath, 403, "You do not have write access"},
		{"a build of another repository", alice, token, fmt.Sprintf("/alice/packages/-/builds/%d", fx.privateBuild.ID), 404, "has no build"},
		{"writer", alice, token, buildPath, 303, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fx.reb.callList())
			form := url.Values{}
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			}
			resp, err := noRedirect(tc.c).PostForm(fx.srv.URL+tc.path+"/rebuild", form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("status %d, want %d with %q:\n%s", resp.StatusCode, tc.status, tc.want, body)
			}
			if tc.status != 303 {
				if len(fx.reb.callList()) != before {
					t.Fatalf("a refused rebuild reached the Rebuilder: %v", fx.reb.callList())
				}
				return
			}
			want := fmt.Sprintf("%d branch:main alice", fx.repo.ID)
			if calls := fx.reb.callList(); calls[len(calls)-1] != want {
				t.Errorf("Rebuilder got %q, want %q", calls, want)
			}
			latest, err := fx.st.LatestBuild(context.Background(), fx.repo.ID, store.Ref{Kind: store.RefBranch, Name: "main"})
			if err != nil {
				t.Fatal(err)
			}
			if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/alice/packages/-/builds/%d", latest.ID) || !latest.Forced {
				t.Errorf("redirected to %s; newest build %+v", loc, latest)
			}
		})
	}
}

// TestRebuildRefusalShowsItsOwnAdvice: a rebuild the service refuses (store.ErrInvalid) shows
// the refusal's message, which says what to do, and no advice of the page's own beside it nor
// the store's words; the API answers the same message.
func TestRebuildRefusalShowsItsOwnAdvice(t *testing.T) {
	const why = "the build minutes of this month are used up: 35 of the 30 minutes; builds start again from 2027-01-01 (UTC), or ask the operator to raise the limit"
	fx := newFixture(t)
	buildPath := fmt.Sprintf("/alice/packages/-/builds/%d", fx.mainBuild.ID)
	alice := fx.signIn(t, "alice")
	token := csrfOf(t, fx, alice, buildPath)
	fx.reb.setErr(refusal(why))
	resp, err := noRedirect(alice).PostForm(fx.srv.URL+buildPath+"/rebuild", url.Values{"csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Rebuild refused") || !strings.Contains(body, html.EscapeString(why)) {
		t.Fatalf("status %d, want 409 with the refusal's message:\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `class="todo"`) {
		t.Errorf("the page adds advice of its own to the refusal's:\n%s", body)
	}
	if strings.Contains(body, store.ErrInvalid.Error()) {
		t.Errorf("the page shows the store's words:\n%s", body)
	}
	req, _ := http.NewRequest("POST", fx.srv.URL+"/api/v1/repos/alice/packages/builds", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err = fx.client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if msg := string(raw); resp.StatusCode != http.StatusConflict || !strings.Contains(msg, "main cannot be built: "+why) || strings.Contains(msg, "Fix what the message says") || strings.Contains(msg, store.ErrInvalid.Error()) {
		t.Errorf("API: status %d, want 409 with only the refusal's message:\n%s", resp.StatusCode, msg)
	}
}

func TestAPIRebuildAuth(t *testing.T) {
	fx := newFixture(t)
	alice := fx.signIn(t, "alice")
	aliceToken := csrfOf(t, fx, alice, "/logout")
	mallory := fx.signIn(t, "mallory")
	malloryToken := csrfOf(t, fx, mallory, "/logout")
	body := `{"ref": {"kind": "branch", "name": "release/1.x"}}`
	cases := []struct {
		name        string
		c           *http.Client
		hdr         map[string]string
		path, body  string
		setup       func()
		status      int
		code, actor string
	}{
		{"anonymous", fx.client(t), nil, "alice/packages", body, nil, 401, "unauthorized", ""},
		{"wrong token", fx.client(t), map[string]string{"Authorization": "Bearer nope"}, "alice/packages", body, nil, 401, "unauthorized", ""},
		{"session without CSRF header", alice, nil, "alice/packages", body, nil, 401, "unauthorized", ""},
		{"session of an outsider", mallory, map[string]string{csrfHeader: malloryToken}, "alice/packages", body, nil, 403, "forbidden", ""},
		{"outsider cannot see the private repository", mallory, map[string]string{csrfHeader: malloryToken}, "bob/secret", body, nil, 404, "not_found", ""},
		{"forge cannot be asked", alice, map[string]string{csrfHeader: aliceToken}, "alice/packages", body,
			func() { fx.auth.setFail(true) }, 502, "forge_unavailable", ""},
		{"writer's session", alice, map[string]string{csrfHeader: aliceToken}, "alice/packages", body,
			func() { fx.auth.setFail(false) }, 201, "", "alice"},
		{"admin token, default branch", fx.client(t), map[string]string{"Authorization": "Bearer " + adminToken}, "alice/packages", "", nil, 201, "", "admin"},
		{"a branch named -", fx.client(t), map[string]string{"Authorization": "Bearer " + adminToken}, "alice/packages", `{"ref":{"kind":"branch","name":"-"}}`,
			func() { fx.reb.setErr(fmt.Errorf("a branch named - is not published: %w", store.ErrInvalid)) }, 409, "not_buildable", ""},
		{"the service fails", fx.client(t), map[string]string{"Authorization": "Bearer " + adminToken}, "alice/packages", body,
			func() { fx.reb.setErr(fmt.Errorf("queue down")) }, 500, "internal", ""},
		{"disabled repository", fx.client(t), map[string]string{"Authorization": "Bearer " + adminToken}, "alice/packages", body,
			func() {
				fx.reb.setErr(nil)
				if err := fx.st.SetRepositoryDisabled(context.Background(), fx.repo.ID, true); err != nil {
					t.Fatal(err)
				}
			}, 409, "disabled", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			req, _ := http.NewRequest("POST", fx.srv.URL+"/api/v1/repos/"+tc.path+"/builds", strings.NewReader(tc.body))
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := tc.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(raw), tc.code) {
				t.Fatalf("status %d, want %d %s:\n%s", resp.StatusCode, tc.status, tc.code, raw)
			}
			if tc.actor != "" && !strings.Contains(string(raw), `"actor": "`+tc.actor+`"`) {
				t.Errorf("new build not by %s:\n%s", tc.actor, raw)
			}
		})
	}
}

func TestSignInFlow(t *testing.T) {
	fx := newFixture(t)
	c := fx.signIn(t, "alice")
	_, _, body := get(t, c, fx.srv.URL+"/")
	if !strings.Contains(body, `<span class="who">alice</span>`) {
		t.Fatalf("home does not show the signed-in user:\n%s", body)
	}
	// The cookie holds no readable secret and is refused once tampered with.
	u, _ := url.Parse(fx.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			p, _, _ := strings.Cut(ck.Value, ".")
			forged := &http.Cookie{Name: sessionCookie, Value: p + ".AAAA"}
			other := fx.client(t)
			other.Jar.SetCookies(u, []*http.Cookie{forged})
			if _, _, b := get(t, other, fx.srv.URL+"/"); strings.Contains(b, `class="who"`) {
				t.Error("a session cookie with a forged signature was accepted")
			}
		}
	}
	// A callback whose state was not started in this browser is refused.
	other := fx.client(t)
	resp, err := noRedirect(fx.client(t)).Get(fx.srv.URL + "/login?forge=github&next=/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	auth, _ := url.Parse(resp.Header.Get("Location"))
	state := auth.Query().Get("state")
	if status, _, b := get(t, other, fx.srv.URL+"/auth/github/callback?code=code-alice&state="+url.QueryEscape(state)); status != 400 || !strings.Contains(b, "could not be verified") {
		t.Errorf("a callback from another browser got %d", status)
	}
	// Open redirects: next must stay on the site.
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example"} {
		if got := localPath(next); got != "/" {
			t.Errorf("localPath(%q) = %q", next, got)
		}
	}
	// Signing out needs the form's token.
	token := csrfOf(t, fx, c, "/logout")
	resp, err = c.PostForm(fx.srv.URL+"/logout", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("sign-out without token: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(fx.srv.URL+"/logout", url.Values{"csrf": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, _, b := get(t, c, fx.srv.URL+"/"); strings.Contains(b, `class="who"`) {
		t.Error("still signed in after signing out")
	}
}

func TestSessionExpires(t *testing.T) {
	fx := newFixture(t)
	c := fx.signIn(t, "alice")
	fx.clock.set(time.Now().Add(sessionTTL + time.Hour))
	if _, _, b := get(t, c, fx.srv.URL+"/"); strings.Contains(b, `class="who"`) {
		t.Error("an expired session is still signed in")
	}
}
