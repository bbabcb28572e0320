package remote

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	body := []byte(`{"ref": "refs/heads/main"}`)
	cases := []struct {
		name, header, value string
		ok                  bool
	}{
		{"github hmac", "X-Hub-Signature-256", "sha256=" + sign("s", body), true},
		{"gitea hmac", "X-Gitea-Signature", sign("s", body), true},
		{"forgejo hmac", "X-Forgejo-Signature", sign("s", body), true},
		{"gitlab token", "X-Gitlab-Token", "s", true},
		{"other key", "X-Gitea-Signature", sign("t", body), false},
		{"other body", "X-Hub-Signature-256", "sha256=" + sign("s", []byte("{}")), false},
		{"wrong token", "X-Gitlab-Token", "S", false},
		{"not hex", "X-Gitea-Signature", "zz", false},
		{"none", "X-Other", "s", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(c.header, c.value)
			if got := verify(h, body, "s"); got != c.ok {
				t.Fatalf("verify = %v, want %v", got, c.ok)
			}
		})
	}
	h := http.Header{}
	h.Set("X-Gitlab-Token", "")
	if verify(h, body, "") {
		t.Fatal("an empty secret verified")
	}
}

func FuzzParsePush(f *testing.F) {
	f.Add([]byte(`{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"1111111111111111111111111111111111111111","repository":{"clone_url":"https://codeberg.org/a/b.git"}}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"ref":"main"}`))
	f.Add([]byte(`{"repository":{"clone_url":"https://codeberg.org/a/b.git","ssh_url":"git@codeberg.org:a/b.git"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ParsePush(body)
		if err == nil && p.Ref != "" && !strings.HasPrefix(p.Ref, "refs/") {
			t.Fatalf("accepted ref %q", p.Ref)
		}
		if err == nil && len(p.URLs()) > 0 && p.Names("https://codeberg.org/a/b.git") && !p.Names("https://CODEBERG.org/a/b") {
			t.Fatalf("%v names a/b.git but not the same URL written otherwise", p.URLs())
		}
	})
}

func TestChanges(t *testing.T) {
	repo := forge.Repo{Forge: Name, ID: 3, Owner: "a", Name: "b", DefaultBranch: "main"}
	now := map[string]string{"refs/heads/main": "m2", "refs/heads/dev": "d1", "refs/tags/v1": "t1"}
	first := changes(repo, nil, now, true, "refs/heads/main")
	if len(first) != 2 || first[0].Ref != "refs/heads/main" || first[0].Kind != forge.KindPush || first[0].Before != forge.ZeroSHA ||
		first[1].Ref != "refs/tags/v1" || first[1].Kind != forge.KindTag {
		t.Fatalf("first poll: %+v, want the default branch and the tag, not dev", first)
	}
	old := map[string]string{"refs/heads/main": "m1", "refs/heads/dev": "d1", "refs/heads/gone": "g1"}
	evs := changes(repo, old, now, false, "refs/heads/main")
	var got []string
	for _, e := range evs {
		got = append(got, string(e.Kind)+" "+e.Ref+" "+e.Before+">"+e.SHA)
	}
	want := []string{"push refs/heads/main m1>m2", "tag refs/tags/v1 " + forge.ZeroSHA + ">t1", "branch_deleted refs/heads/gone g1>"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	if evs[0].DeliveryID == changes(repo, map[string]string{"refs/heads/main": "m0"}, now, false, "")[0].DeliveryID {
		t.Fatal("the same commit reached from another one has the same delivery id: it would be taken for a redelivery")
	}
}

// TestFirstListingBuildsTheNewestTags: of many tags already there, the first listing builds
// the newest firstTags by version (versions before other names), and later listings every
// new one.
func TestFirstListingBuildsTheNewestTags(t *testing.T) {
	repo := forge.Repo{Forge: Name, ID: 3, Owner: "a", Name: "b", DefaultBranch: "main"}
	now := map[string]string{"refs/heads/main": "m", "refs/tags/nightly": "n", "refs/tags/v2.0.0-rc1": "rc"}
	for i := 1; i <= 12; i++ {
		now[fmt.Sprintf("refs/tags/v1.%d", i)] = fmt.Sprintf("t%d", i)
	}
	var got []string
	for _, e := range changes(repo, nil, now, true, "refs/heads/main") {
		got = append(got, strings.TrimPrefix(e.Ref, "refs/tags/"))
	}
	sort.Strings(got)
	want := []string{"refs/heads/main", "v1.10", "v1.11", "v1.12", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v2.0.0-rc1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("first listing builds %v, want %v", got, want)
	}
	next := changes(repo, map[string]string{"refs/heads/main": "m"}, map[string]string{"refs/heads/main": "m", "refs/tags/v0.1": "old"}, false, "refs/heads/main")
	if len(next) != 1 || next[0].Ref != "refs/tags/v0.1" {
		t.Fatalf("a later listing: %+v, want the new tag whatever its version", next)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	r := &Remotes{cfg: Config{Interval: time.Minute, MaxBackoff: 10 * time.Minute}}
	prev := time.Duration(0)
	for f := 1; f <= 3; f++ {
		d := r.backoff(f)
		if d <= prev {
			t.Fatalf("backoff(%d) = %v, not above %v", f, d, prev)
		}
		prev = d
	}
	if d := r.backoff(30); d > 11*time.Minute {
		t.Fatalf("backoff(30) = %v, over the cap", d)
	}
}

type nopInbox struct{ n int }

func (i *nopInbox) Put(context.Context, *forge.Event) (bool, error) { i.n++; return false, nil }

func TestAddLimits(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	newR := func(allow string) *Remotes {
		r, err := New(Config{Allow: allow, Quota: 1, BaseURL: "https://ppa.example"}, Deps{Store: st, Inbox: &nopInbox{}, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// IP literals: no lookup happens, and the policy's private-address refusal is not in the way.
	users := newR(AllowUsers)
	a, err := users.Add(ctx, AddRequest{URL: "https://1.1.1.1/alice/pkgs.git", AddedBy: "github:alice"})
	if err != nil || a.Repo.Path() != "alice/pkgs" || a.WebhookURL != fmt.Sprintf("https://ppa.example/webhooks/git/%d", a.Repo.ID) || a.DeployKey != "" {
		t.Fatalf("Add = %+v, %v", a, err)
	}
	for _, c := range []struct {
		r    *Remotes
		req  AddRequest
		want error
		msg  string
	}{
		{users, AddRequest{URL: "https://1.1.1.1/alice/more.git", AddedBy: "github:alice"}, ErrNotAllowed, "remove one first"},
		{users, AddRequest{URL: "https://1.1.1.1/x/pkgs.git", Name: "Alice/PKGS", AddedBy: "github:bob"}, ErrNameTaken, "--name"},
		{users, AddRequest{URL: "https://1.1.1.1/x/y.git", AddedBy: ""}, ErrNotAllowed, "sign in"},
		{users, AddRequest{URL: "https://10.0.0.1/x/y.git", AddedBy: "github:bob"}, nil, "--repos-allow-private"},
		{users, AddRequest{URL: "https://1.1.1.1/x/y.git", Name: "no-slash", AddedBy: "github:bob"}, nil, "not owner/repo"},
		{newR(AllowAdmins), AddRequest{URL: "https://1.1.1.1/x/y.git", AddedBy: "github:bob"}, ErrNotAllowed, "only admins"},
		{newR(AllowOff), AddRequest{URL: "https://1.1.1.1/x/y.git", Admin: true}, ErrNotAllowed, "switched off"},
	} {
		_, err := c.r.Add(ctx, c.req)
		if err == nil || c.want != nil && !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Add(%+v) = %v, want %v saying %q", c.req, err, c.want, c.msg)
		}
	}
	ssh, err := newR(AllowUsers).Add(ctx, AddRequest{URL: "git@1.1.1.1:team/private.git", Admin: true, AddedBy: "admin"})
	if err != nil || !strings.HasPrefix(ssh.DeployKey, "ssh-ed25519 ") || !ssh.Repo.Private {
		t.Fatalf("ssh Add = %+v, %v", ssh, err)
	}
	rem, _ := st.Remote(ctx, ssh.Repo.ID)
	if PublicKey(rem, "openwrt-ppa team/private") != ssh.DeployKey {
		t.Fatalf("the stored private key is not the shown public key's")
	}
}

// TestAddStoresTheConfigFirst: a configuration given with the registration is in the store
// once Add returns (before the first poll, which Add wakes); none given, none stored.
func TestAddStoresTheConfigFirst(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r, err := New(Config{Allow: AllowAdmins, BaseURL: "https://ppa.example"}, Deps{Store: st, Inbox: &nopInbox{}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Add(ctx, AddRequest{URL: "https://1.1.1.1/carol/feed.git", Admin: true, AddedBy: "kubernetes:ppa/feed",
		Config: store.RepoConfig{Series: []string{"24.10"}, Archs: []string{"x86_64"}, SetBy: "kubernetes:ppa/feed"}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := st.RepoConfig(ctx, a.Repo.ID); err != nil || c.RepoID != a.Repo.ID || c.Series[0] != "24.10" || c.SetBy != "kubernetes:ppa/feed" {
		t.Fatalf("stored configuration %+v, %v", c, err)
	}
	b, err := r.Add(ctx, AddRequest{URL: "https://1.1.1.1/carol/plain.git", Admin: true, AddedBy: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := st.RepoConfig(ctx, b.Repo.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a registration without a configuration stored %+v, %v", c, err)
	}
}

func TestPushNames(t *testing.T) {
	const registered = "https://codeberg.org/Carol/feed.git"
	for _, c := range []struct {
		body string
		want bool
	}{
		{``, true},
		{`{"ref": "refs/heads/main"}`, true},
		{`{"repository": {"clone_url": "https://codeberg.org/carol/feed.git"}}`, true},
		{`{"repository": {"clone_url": "https://codeberg.org/carol/feed"}}`, true},
		{`{"repository": {"clone_url": "https://elsewhere.example/x/y.git", "ssh_url": "git@codeberg.org:carol/feed.git"}}`, true},
		{`{"repository": {"git_http_url": "https://codeberg.org/carol/feed.git"}}`, true},
		{`{"repository": {"clone_url": "https://codeberg.org/carol/other.git", "ssh_url": "git@codeberg.org:carol/other.git"}}`, false},
		{`{"repository": {"clone_url": "https://evil.example/carol/feed.git"}}`, false},
		{`{"repository": {"clone_url": "file:///srv/carol/feed.git"}}`, false},
		{`{"repository": {"git_ssh_url": "not a url"}}`, false},
	} {
		p, err := ParsePush([]byte(c.body))
		if err != nil {
			t.Fatalf("ParsePush(%s): %v", c.body, err)
		}
		if got := p.Names(registered); got != c.want {
			t.Errorf("%s names %s: %v, want %v", c.body, registered, got, c.want)
		}
	}
}

// TestWebhookRefusesAnotherRepository: a signed push whose payload names another repository
// is refused with a message naming both; one naming this repository, or none, makes it poll.
func TestWebhookRefusesAnotherRepository(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	r, err := New(Config{BaseURL: "https://ppa.example"}, Deps{Store: st, Inbox: &nopInbox{}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Add(ctx, AddRequest{URL: "https://1.1.1.1/alice/pkgs.git", Admin: true, AddedBy: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.WebhookHandler())
	defer srv.Close()
	for _, c := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"ref": "refs/heads/main", "repository": {"clone_url": "https://1.1.1.1/bob/other.git", "ssh_url": "git@1.1.1.1:bob/other.git"}}`, 422, "another repository (https://1.1.1.1/bob/other.git)"},
		{`{"ref": "refs/heads/main", "repository": {"clone_url": "https://1.1.1.1/alice/pkgs.git"}}`, 202, ""},
		{`{"ref": "refs/heads/main", "repository": {"git_http_url": "https://1.1.1.1/alice/pkgs.git"}}`, 202, ""},
		{``, 202, ""},
	} {
		mac := hmac.New(sha256.New, []byte(a.WebhookSecret))
		mac.Write([]byte(c.body))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/git/"+fmt.Sprint(a.Repo.ID), strings.NewReader(c.body))
		req.Header.Set("X-Gitea-Signature", hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(msg), c.msg) || c.status == 422 && !strings.Contains(string(msg), "alice/pkgs.git's") {
			t.Errorf("%s: %d %s, want %d saying %q", c.body, resp.StatusCode, msg, c.status, c.msg)
		}
	}
}

// openStore is a fresh embedded store for one test.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
