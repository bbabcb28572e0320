package builder_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// superproject pushes to srv a repository name whose main branch holds files and a submodule at
// each path of subs (path → URL and commit), as a forge would serve it.
func superproject(t *testing.T, srv *testenv.GitServer, name string, files map[string]string, subs map[string][2]string) string {
	t.Helper()
	dir, _ := testenv.GitRepo(t, files)
	var gm strings.Builder
	for p, s := range subs {
		gm.WriteString("[submodule \"" + p + "\"]\n\tpath = " + p + "\n\turl = " + s[0] + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitmodules"), []byte(gm.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Git(t, dir, "add", ".gitmodules")
	for p, s := range subs { // a gitlink, without cloning the submodule
		testenv.Git(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+s[1]+","+p)
	}
	testenv.Git(t, dir, "commit", "-q", "-m", "submodules")
	commit := strings.TrimSpace(testenv.Git(t, dir, "rev-parse", "HEAD"))
	bare := filepath.Join(srv.Root, name+".git")
	if _, err := os.Stat(bare); err != nil {
		testenv.Git(t, "", "init", "-q", "--bare", "-b", "main", bare)
	}
	testenv.Git(t, dir, "push", "-q", "-f", bare, "HEAD:refs/heads/main")
	return commit
}

// recorder is a proxy on a port of its own in front of a git server: another origin, which
// notes every Authorization header it is sent.
type recorder struct {
	URL  string
	mu   sync.Mutex
	auth []string
}

func newRecorder(t *testing.T, target *testenv.GitServer) *recorder {
	u, err := url.Parse(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			rec.mu.Lock()
			rec.auth = append(rec.auth, a)
			rec.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

const testToken = "s3cret-service-token"

// privateForge is a git server that only answers the service's token, as a forge does for
// private repositories.
func privateForge(t *testing.T) *testenv.GitServer {
	srv := testenv.StartGitServer(t)
	srv.RequireAuth(func(_, pass string) bool { return pass == testToken })
	return srv
}

// tokenFor gives the token for url alone, as app's cloneAuth does.
func tokenFor(url string) func(string) (transport.AuthMethod, error) {
	return func(u string) (transport.AuthMethod, error) {
		if u == url {
			return &githttp.BasicAuth{Username: "x-access-token", Password: testToken}, nil
		}
		return nil, nil
	}
}

func TestCheckoutSubmoduleOnAnotherPortGetsNoCredentials(t *testing.T) {
	forge := privateForge(t)
	other := testenv.StartGitServer(t)
	pub := other.Commit(t, "x/pub", "main", map[string]string{"pub.txt": "public\n"})
	rec := newRecorder(t, other) // same host 127.0.0.1, another port: another origin
	superproject(t, forge, "o/private", map[string]string{"README": "x\n"},
		map[string][2]string{"vendor": {rec.URL + "/x/pub.git", pub}})

	main := forge.RepoURL("o/private")
	co := &builder.Checkouter{CacheDir: t.TempDir(), Auth: tokenFor(main)}
	dest := filepath.Join(t.TempDir(), "w")
	_, err := co.Checkout(context.Background(), builder.CheckoutRequest{URL: main, Ref: "refs/heads/main"}, dest)
	if got := rec.seen(); len(got) > 0 {
		t.Fatalf("the submodule's host was sent credentials: %q", got)
	}
	if err != nil {
		t.Fatalf("a public submodule on another host is fetched anonymously; got %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "vendor", "pub.txt")); err != nil || string(b) != "public\n" {
		t.Fatalf("submodule file %q, %v", b, err)
	}
}

func TestCheckoutRelativeSubmoduleOfPrivateRepository(t *testing.T) {
	forge := privateForge(t)
	secret := forge.Commit(t, "o/secret", "main", map[string]string{"key": "other tenant\n"})
	superproject(t, forge, "o/private", map[string]string{"README": "x\n"},
		map[string][2]string{"vendor": {"../secret.git", secret}})
	main := forge.RepoURL("o/private")
	cache := t.TempDir() // shared: what one checkout fetched with credentials must not serve the next
	var asked []string
	access := func(allow bool, err error) func(context.Context, string) (bool, error) {
		return func(_ context.Context, url string) (bool, error) {
			asked = append(asked, url)
			return allow, err
		}
	}
	cases := []struct {
		name    string
		access  func(context.Context, string) (bool, error)
		wantErr string // "" for success
	}{
		{"no access check", nil, "could not be fetched without credentials"},
		{"owner may read it", access(true, nil), ""},
		{"owner may not read it", access(false, nil), "owner may not read it"},
		{"the forge cannot say", access(false, errors.New("forge down")), "forge down"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			asked = nil
			co := &builder.Checkouter{CacheDir: cache, Auth: tokenFor(main), SubmoduleAccess: tc.access}
			dest := filepath.Join(t.TempDir(), "w")
			_, err := co.Checkout(context.Background(), builder.CheckoutRequest{URL: main, Ref: "refs/heads/main"}, dest)
			_, serr := os.Stat(filepath.Join(dest, "vendor", "key"))
			if tc.wantErr != "" {
				if serr == nil {
					t.Fatal("a private repository of the same forge was fetched with the main repository's credentials")
				}
				if err == nil || !strings.Contains(err.Error(), "vendor") || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want the submodule refused: %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || serr != nil {
				t.Fatalf("checkout: %v; submodule file: %v", err, serr)
			}
			if want := forge.RepoURL("o/secret"); len(asked) != 1 || asked[0] != want {
				t.Fatalf("access asked for %q, want [%s]", asked, want)
			}
		})
	}

	// The same submodule name, now on a public repository but at the private commit: the
	// objects the cache fetched with credentials must not stand in for it.
	public := testenv.StartGitServer(t)
	public.Commit(t, "x/pub", "main", map[string]string{"pub.txt": "public\n"})
	superproject(t, forge, "o/private", map[string]string{"README": "y\n"},
		map[string][2]string{"vendor": {public.RepoURL("x/pub"), secret}})
	co := &builder.Checkouter{CacheDir: cache, Auth: tokenFor(main)}
	dest := filepath.Join(t.TempDir(), "w")
	_, err := co.Checkout(context.Background(), builder.CheckoutRequest{URL: main, Ref: "refs/heads/main"}, dest)
	if _, serr := os.Stat(filepath.Join(dest, "vendor", "key")); serr == nil || err == nil {
		t.Fatalf("the private commit came out of the cache for another URL (error %v)", err)
	}
}

// listenAgent is a stand-in ssh agent: it counts who connects.
func listenAgent(t *testing.T) *atomic.Int32 {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	return &n
}

// deadSSH is a TCP port that hangs up at once, where an ssh server would be.
func deadSSH(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func TestCheckoutNeverFallsBackToTheSSHAgent(t *testing.T) {
	agent := listenAgent(t)
	ssh := "ssh://git@" + deadSSH(t) + "/o/r.git"
	co := &builder.Checkouter{CacheDir: t.TempDir()}
	_, err := co.Checkout(context.Background(), builder.CheckoutRequest{URL: ssh, Ref: "main"}, filepath.Join(t.TempDir(), "w"))
	if n := agent.Load(); n != 0 {
		t.Fatalf("the host's ssh agent was asked %d times", n)
	}
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("error %v, want the ssh URL refused for want of credentials", err)
	}

	forge := privateForge(t)
	superproject(t, forge, "o/private", map[string]string{"README": "x\n"},
		map[string][2]string{"vendor": {ssh, strings.Repeat("1", 40)}})
	main := forge.RepoURL("o/private")
	co = &builder.Checkouter{CacheDir: t.TempDir(), Auth: tokenFor(main)}
	_, err = co.Checkout(context.Background(), builder.CheckoutRequest{URL: main, Ref: "refs/heads/main"}, filepath.Join(t.TempDir(), "w"))
	if n := agent.Load(); n != 0 {
		t.Fatalf("the host's ssh agent was asked %d times for a submodule", n)
	}
	if err == nil || !strings.Contains(err.Error(), "vendor") {
		t.Fatalf("error %v, want the ssh submodule refused", err)
	}
}

func TestCheckoutBranchBuildNeedsCommitOnTheBranch(t *testing.T) {
	srv := testenv.StartGitServer(t)
	srv.Commit(t, "o/r", "main", map[string]string{"a": "1\n"})
	bare := filepath.Join(srv.Root, "o/r.git")
	// A merge request's head: its commit is on no branch.
	mr := srv.Commit(t, "o/r", "fork", map[string]string{"a": "fork\n"})
	testenv.Git(t, bare, "update-ref", "refs/merge-requests/1/head", mr)
	testenv.Git(t, bare, "update-ref", "-d", "refs/heads/fork")
	co := &builder.Checkouter{CacheDir: t.TempDir()}
	ctx := context.Background()
	do := func(ref, commit string) (builder.CheckoutResult, error) {
		return co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Ref: ref, Commit: commit}, filepath.Join(t.TempDir(), "w"))
	}
	// The merge request build puts its commit into the clone cache.
	if res, err := do("refs/merge-requests/1/head", mr); err != nil || res.Commit != mr {
		t.Fatalf("merge request build: %+v %v", res, err)
	}
	for _, ref := range []string{"refs/heads/main", "main"} {
		if _, err := do(ref, mr); !errors.Is(err, builder.ErrCheckoutRefused) || !strings.Contains(err.Error(), "not on refs/heads/main") {
			t.Fatalf("commit of a merge request built as %s: error %v, want it refused", ref, err)
		}
	}

	// A branch that was deleted after a build still has its ref in the cache.
	gone := srv.Commit(t, "o/r", "gone", map[string]string{"a": "gone\n"})
	if _, err := do("gone", gone); err != nil {
		t.Fatal(err)
	}
	testenv.Git(t, bare, "update-ref", "-d", "refs/heads/gone")
	if _, err := do("gone", gone); !errors.Is(err, builder.ErrCheckoutRefused) || !strings.Contains(err.Error(), `no branch or tag "gone"`) {
		t.Fatalf("build of a deleted branch: %v", err)
	}

	// What may be built: the tip, an ancestor of it (a newer push came first), a tag's commit,
	// a pull request's own head; not a commit of one branch as another.
	old := srv.Commit(t, "o/r", "main", map[string]string{"a": "2\n"})
	tip := commitOn(t, srv, "o/r", "main", map[string]string{"a": "3\n"})
	other := srv.Commit(t, "o/r", "other", map[string]string{"a": "other\n"})
	srv.Tag(t, "o/r", "v1", old)
	for _, tc := range []struct {
		ref, commit string
		ok          bool
	}{
		{"main", tip, true},
		{"refs/heads/main", old, true},
		{"v1", old, true},
		{"refs/tags/v1", tip, false},
		{"main", other, false},
		{"refs/merge-requests/1/head", other, false},
		{"refs/merge-requests/1/head", mr, true},
	} {
		res, err := do(tc.ref, tc.commit)
		if tc.ok && (err != nil || res.Commit != tc.commit || !res.Fetched) {
			t.Errorf("%s at %s: %+v %v", tc.ref, tc.commit[:7], res, err)
		}
		if !tc.ok && !errors.Is(err, builder.ErrCheckoutRefused) {
			t.Errorf("%s at %s: error %v, want it refused", tc.ref, tc.commit[:7], err)
		}
	}
}

// commitOn adds a commit on top of branch of the repository name on srv (srv.Commit starts a
// new history each time).
func commitOn(t *testing.T, srv *testenv.GitServer, name, branch string, files map[string]string) string {
	work := t.TempDir()
	testenv.Git(t, work, "clone", "-q", "-b", branch, srv.RepoURL(name), ".")
	testenv.GitCommit(t, work, files)
	testenv.Git(t, work, "push", "-q", filepath.Join(srv.Root, name+".git"), "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(testenv.Git(t, work, "rev-parse", "HEAD"))
}

func TestCheckoutAgainWithSubmodules(t *testing.T) {
	srv := testenv.StartGitServer(t)
	pub := srv.Commit(t, "x/pub", "main", map[string]string{"pub.txt": "public\n"})
	superproject(t, srv, "o/r", map[string]string{"README": "x\n"}, map[string][2]string{"vendor": {"../../x/pub.git", pub}})
	co := &builder.Checkouter{CacheDir: t.TempDir()}
	for i := range 2 { // the second reuses the submodule's clone in the cache
		dest := filepath.Join(t.TempDir(), "w")
		if _, err := co.Checkout(context.Background(), builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Ref: "main"}, dest); err != nil {
			t.Fatalf("checkout %d: %v", i+1, err)
		}
		if b, err := os.ReadFile(filepath.Join(dest, "vendor", "pub.txt")); err != nil || string(b) != "public\n" {
			t.Fatalf("checkout %d: submodule file %q, %v", i+1, b, err)
		}
	}
}
