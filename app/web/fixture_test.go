package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

const (
	adminToken = "admin-token-for-tests"
	mainFP     = "0123456789abcdef"
	previewFP  = "fedcba9876543210"
)

// fixture is a seeded service: the real SQLite store with history and the real in-process log
// stream, fake feeds, forge permissions and rebuilder, and a fake GitHub OAuth server. srv
// serves the handler.
type fixture struct {
	st     *sqlite.DB
	feeds  *fakeFeeds
	auth   *fakeAuth
	reb    *fakeRebuilder
	logs   *inproc.LogStream
	forge  *fakeOAuth
	clock  *clock
	h      *Handler
	srv    *httptest.Server
	logDir string
	// catalogue is what Options.Catalogue answers: a healthy refresh unless a test sets another.
	catalogue atomic.Pointer[CatalogueState]

	repo, private, gitlab store.Repository
	mainBuild             store.Build // main, success: 24.10/x86_64 built, 24.10/mipsel_24kc failed
	mainJobs              []store.Job
	running               store.Build // feature/x, running
	runningJob            store.Job
	queuedJob             store.Job
	privateBuild          store.Build
}

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fx := &fixture{st: st, feeds: &fakeFeeds{}, logs: inproc.NewLogStream(inproc.LogOptions{}), logDir: filepath.Join(dir, "logs"),
		auth: &fakeAuth{writers: map[string][]string{
			"alice/packages": {"github:alice"},
			"bob/secret":     {"github:alice"},
		}}}
	fx.reb = &fakeRebuilder{st: st}
	fx.clock = &clock{}
	fx.forge = newFakeOAuth(t)
	fx.seed(t)
	fx.catalogue.Store(&CatalogueState{Source: "registry ghcr.io/openwrt/sdk", InUse: "last answer of 2026-11-20T11:00:00Z",
		Releases: "24.10=24.10.6", LastOK: t0.Add(-time.Hour)})
	fx.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fx.h.ServeHTTP(w, r) }))
	t.Cleanup(fx.srv.Close)
	feedFiles := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "feed file server: %s", r.URL.Path)
	})
	fx.h, err = New(Options{
		History: st, Logs: fx.logs, LogDir: fx.logDir, Feeds: fx.feeds, FeedFiles: feedFiles,
		Rebuilder: fx.reb, Authorizer: fx.auth, PublicURL: fx.srv.URL, WebhookSecrets: st,
		Registrar:     &fakeRegistrar{st: st},
		Catalogue:     func() CatalogueState { return *fx.catalogue.Load() },
		SessionSecret: []byte("0123456789abcdef0123456789abcdef"), AdminToken: adminToken,
		OAuth: []OAuthProvider{fx.forge.provider()}, Now: fx.clock.Now,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (fx *fixture) seed(t testing.TB) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	fx.repo, err = fx.st.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "alice", Name: "packages", DefaultBranch: "main"})
	must(err)
	fx.private, err = fx.st.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "2", Owner: "bob", Name: "secret", DefaultBranch: "main", Private: true})
	must(err)
	_, err = fx.st.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "4", Owner: "carol", Name: "empty", DefaultBranch: "main"})
	must(err)
	fx.gitlab, err = fx.st.PutRepository(ctx, store.Repository{Forge: "gitlab", ForgeID: "3", Owner: "group/sub", Name: "proj", DefaultBranch: "master"})
	must(err)

	built := `{"packages":[{"name":"hello","version":"1.0-r1","size":2048,"status":"built"},{"name":"hello-luci","version":"1.0-r1","size":4096,"status":"built"}]}`
	failed := `{"packages":[{"name":"hello","version":"1.0-r1","size":2048,"status":"built"},{"name":"hello-luci","status":"failed","step":"compile","note":"make exited with 2"}]}`
	fx.mainBuild, fx.mainJobs = fx.addBuild(t, fx.repo, store.Ref{Kind: store.RefBranch, Name: "main"}, store.StatusFailure, []jobSeed{
		{"24.10", "x86_64", store.StatusSuccess, built, "make package/hello/compile\nhello built\n"},
		{"24.10", "mipsel_24kc", store.StatusFailure, failed, "make package/hello-luci/compile\nerror: hello-luci failed\n"},
	})
	fx.addBuild(t, fx.repo, store.Ref{Kind: store.RefBranch, Name: "release/1.x"}, store.StatusSuccess, []jobSeed{
		{"24.10", "x86_64", store.StatusSuccess, built, "ok\n"},
	})
	fx.addBuild(t, fx.repo, store.Ref{Kind: store.RefTag, Name: "v1.0"}, store.StatusSuccess, []jobSeed{
		{"24.10", "x86_64", store.StatusSuccess, built, "ok\n"},
	})
	fx.addBuild(t, fx.repo, store.PRRef(7), store.StatusSuccess, []jobSeed{
		{"24.10", "x86_64", store.StatusSuccess, built, "ok\n"},
	})
	var jobs []store.Job
	fx.running, jobs = fx.addBuild(t, fx.repo, store.Ref{Kind: store.RefBranch, Name: "feature/x"}, store.StatusRunning, []jobSeed{
		{"24.10", "x86_64", store.StatusRunning, "", ""},
		{"24.10", "mipsel_24kc", store.StatusQueued, "", ""},
	})
	fx.runningJob, fx.queuedJob = jobs[0], jobs[1]
	must(fx.logs.Append(ctx, JobStreamName(fx.runningJob.ID), "Setting up the SDK", "Updating feeds"))
	fx.privateBuild, _ = fx.addBuild(t, fx.private, store.Ref{Kind: store.RefBranch, Name: "main"}, store.StatusSuccess, []jobSeed{
		{"24.10", "x86_64", store.StatusSuccess, built, "secret log\n"},
	})
	fx.addBuild(t, fx.gitlab, store.Ref{Kind: store.RefBranch, Name: "master"}, store.StatusSuccess, []jobSeed{
		{"23.05", "aarch64_cortex-a53", store.StatusSuccess, built, "ok\n"},
	})

	hello := func(arch string) []Package {
		return []Package{
			{Name: "hello", Version: "1.0-r1", Filename: "hello_1.0-r1_" + arch + ".ipk", Size: 2048, Modified: t0},
			{Name: "hello-luci", Version: "1.0-r1", Filename: "hello-luci_1.0-r1_all.ipk", Size: 4096, Modified: t0},
		}
	}
	for _, f := range []struct {
		repo         store.Repository
		ref          store.Ref
		series, arch string
	}{
		{fx.repo, store.Ref{Kind: store.RefBranch, Name: "main"}, "24.10", "x86_64"},
		{fx.repo, store.Ref{Kind: store.RefBranch, Name: "main"}, "24.10", "mipsel_24kc"},
		{fx.repo, store.Ref{Kind: store.RefBranch, Name: "main"}, "23.05", "x86_64"},
		{fx.repo, store.Ref{Kind: store.RefBranch, Name: "release/1.x"}, "24.10", "x86_64"},
		{fx.repo, store.Ref{Kind: store.RefTag, Name: "v1.0"}, "24.10", "x86_64"},
		{fx.repo, store.Ref{Kind: store.RefTag}, "24.10", "x86_64"}, // /-/latest/
		{fx.repo, store.PRRef(7), "24.10", "x86_64"},
		{fx.private, store.Ref{Kind: store.RefBranch, Name: "main"}, "24.10", "x86_64"},
		{fx.gitlab, store.Ref{Kind: store.RefBranch, Name: "master"}, "23.05", "aarch64_cortex-a53"},
	} {
		if f.ref.Name == "" { // the latest feed is not one of the repository's listed feeds
			fx.feeds.pkgs[feedKey(f.repo.ID, f.ref, f.series, f.arch)] = hello(f.arch)
			continue
		}
		fx.feeds.add(f.repo.ID, f.ref, f.series, f.arch, t0, hello(f.arch)...)
	}
	fx.feeds.keys[fx.repo.ID] = map[store.KeyKind]string{store.KeyMain: mainFP, store.KeyPreview: previewFP}
}

type jobSeed struct {
	series, arch string
	status       store.Status
	result, log  string
}

// addBuild stores a build with its jobs, their results and log files.
func (fx *fixture) addBuild(t testing.TB, repo store.Repository, ref store.Ref, status store.Status, seeds []jobSeed) (store.Build, []store.Job) {
	t.Helper()
	ctx := context.Background()
	b, err := fx.st.CreateBuild(ctx, store.Build{RepoID: repo.ID, CommitSHA: strings.Repeat("ab", 20), Ref: ref,
		Trigger: store.TriggerPush, Actor: "alice", Status: status})
	if err != nil {
		t.Fatal(err)
	}
	b, err = fx.st.UpdateBuild(ctx, b.ID, func(b *store.Build) error {
		b.Started = t0
		if status.Final() {
			b.Finished = t0.Add(90 * time.Second)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []store.Job
	for _, s := range seeds {
		want = append(want, store.Job{BuildID: b.ID, Series: s.series, Arch: s.arch, Image: "ghcr.io/openwrt/sdk:" + s.arch + "-24.10.6", Status: s.status})
	}
	jobs, err := fx.st.CreateJobs(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		logPath := ""
		if s.log != "" {
			logPath = filepath.Join(fmt.Sprint(b.ID), fmt.Sprintf("%d.log", jobs[i].ID))
			if err := os.MkdirAll(filepath.Join(fx.logDir, fmt.Sprint(b.ID)), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(fx.logDir, logPath), []byte(s.log), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		jobs[i], err = fx.st.UpdateJob(ctx, jobs[i].ID, func(j *store.Job) error {
			if s.result != "" {
				j.Result = json.RawMessage(s.result)
			}
			j.LogPath = logPath
			if s.status != store.StatusQueued {
				j.Started = t0
			}
			if s.status.Final() {
				j.Finished = t0.Add(75 * time.Second)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b, jobs
}

// fakeOAuth is a GitHub OAuth server that approves at once as whoever login is.
type fakeOAuth struct {
	srv   *httptest.Server
	mu    sync.Mutex
	login string
}

func newFakeOAuth(t testing.TB) *fakeOAuth {
	f := &fakeOAuth{login: "alice"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		login := f.login
		f.mu.Unlock()
		q := r.URL.Query()
		if q.Get("client_id") != "client-id" {
			http.Error(w, "unknown client", http.StatusBadRequest)
			return
		}
		u := q.Get("redirect_uri") + "?" + url.Values{"code": {"code-" + login}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		login, ok := strings.CutPrefix(r.FormValue("code"), "code-")
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"error":"bad_verification_code"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%s","token_type":"bearer"}`, login)
	})
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		login, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		if !ok {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"login":%q}`, login)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOAuth) setLogin(l string) {
	f.mu.Lock()
	f.login = l
	f.mu.Unlock()
}

func (f *fakeOAuth) provider() OAuthProvider {
	return GitHubOAuth("client-id", "client-secret", f.srv.URL, f.srv.URL)
}

// signIn goes through the OAuth flow as login with a cookie jar client and returns the client.
func (fx *fixture) signIn(t testing.TB, login string) *http.Client {
	t.Helper()
	fx.forge.setLogin(login)
	c := fx.client(t)
	resp, err := c.Get(fx.srv.URL + "/login?forge=github&next=/alice/packages")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/alice/packages" {
		t.Fatalf("sign-in as %s ended at %s with %s", login, resp.Request.URL, resp.Status)
	}
	return c
}

// client is an HTTP client with its own cookie jar.
func (fx *fixture) client(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}
