package github_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
)

var fixed = time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)

func newClient(t *testing.T, g *forgetest.GitHub) *github.Client {
	t.Helper()
	c, err := github.New(github.Config{
		AppID:      forgetest.GitHubAppID,
		PrivateKey: g.PrivateKeyPEM(),
		APIURL:     g.URL,
		Retry:      github.Retry{Base: time.Millisecond},
		Logger:     discardLogger(),
		Now:        func() time.Time { return fixed },
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var repo = forge.Repo{Forge: forge.GitHub, ID: 1296269, Owner: "octo", Name: "pkgs", Installation: 7}

const sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"

func assertSequence(t *testing.T, got []string, want ...string) {
	t.Helper()
	if d := forgetest.DiffSequence(got, want); d != "" {
		t.Fatal(d)
	}
}

// A build's life: queued → in progress → success with its summary, one check run, created
// once and updated twice, all with the installation token the App JWT bought.
func TestBuildLifeCallSequence(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	c := newClient(t, g)
	ctx := context.Background()
	chk := forge.Check{
		Name: "openwrt-ppa: 24.10/x86_64", SHA: sha, Ref: "refs/heads/main",
		State: forge.CheckQueued, Title: "Queued",
		DetailsURL: "https://ppa.example/octo/pkgs/-/builds/9", ExternalID: "job-9-1",
	}
	id, err := c.ReportCheck(ctx, repo, chk)
	if err != nil {
		t.Fatal(err)
	}
	chk.ID, chk.State, chk.Title = id, forge.CheckInProgress, "Building"
	if _, err := c.ReportCheck(ctx, repo, chk); err != nil {
		t.Fatal(err)
	}
	chk.State, chk.Title = forge.CheckSuccess, "1 package built"
	chk.Summary = forge.Summary(forge.SummaryInput{
		Packages: []forge.PackageRow{{Name: "dnsmasq-full", Version: "2.90-2", Size: 163817}},
		LogURL:   "https://ppa.example/octo/pkgs/-/builds/9", FeedURL: "https://ppa.example/octo/pkgs/main/24.10/x86_64/",
	})
	if _, err := c.ReportCheck(ctx, repo, chk); err != nil {
		t.Fatal(err)
	}

	assertSequence(t, g.Sequence(),
		"POST /app/installations/7/access_tokens",
		"POST /repos/octo/pkgs/check-runs",
		"PATCH /repos/octo/pkgs/check-runs/"+id,
		"PATCH /repos/octo/pkgs/check-runs/"+id,
	)
	calls := g.Calls()
	if !strings.HasPrefix(calls[0].Auth, "Bearer ") {
		t.Errorf("token request authenticated with %q, want the App JWT", calls[0].Auth)
	}
	for _, call := range calls[1:] {
		if !strings.HasPrefix(call.Auth, "token ghs_") {
			t.Errorf("%s authenticated with %q, want the installation token", call, call.Auth)
		}
	}
	for i, want := range []string{`"status":"queued"`, `"status":"in_progress"`, `"conclusion":"success"`} {
		if !strings.Contains(string(calls[i+1].Body), want) {
			t.Errorf("%s body lacks %s: %s", calls[i+1], want, calls[i+1].Body)
		}
	}
	var runID int64
	fmt.Sscan(id, &runID)
	run := g.CheckRun(runID)
	out, _ := run["output"].(map[string]any)
	if run["status"] != "completed" || run["conclusion"] != "success" || run["completed_at"] != "2026-11-27T01:02:03Z" ||
		run["details_url"] != chk.DetailsURL || run["external_id"] != "job-9-1" ||
		!strings.Contains(fmt.Sprint(out["summary"]), "| dnsmasq-full | 2.90-2 | 160.0 KiB |") {
		t.Errorf("final check run: %v", run)
	}
}

// A refused /rebuild: the comment comes from someone with read access; the forge is asked,
// the comment gets 😕 and a polite reply, and nothing else happens.
func TestRefusedRebuildCallSequence(t *testing.T) {
	t.Run("own", func(t *testing.T) {
		refusedRebuild(t, forgetest.Payload(t, "github/issue_comment/rebuild-on-pull.json"))
	})
	t.Run("shared", func(t *testing.T) {
		dir := forgetest.SharedTestdata(t, "webhooks", "github")
		refusedRebuild(t, forgetest.ReadFile(t, filepath.Join(dir, "go-playground/pull-request-issue-comment.json")))
	})
}

func refusedRebuild(t *testing.T, prComment []byte) {
	body := forgetest.Rewrite(t, prComment, func(d map[string]any) {
		forgetest.Obj(t, d, "comment")["body"] = "/rebuild"
		d["installation"] = map[string]any{"id": 7}
	})
	h := http.Header{}
	h.Set(github.HeaderEvent, "issue_comment")
	ev, err := github.Parse(h, body)
	if err != nil || ev.Kind != forge.KindRebuild {
		t.Fatalf("Parse = %+v, %v", ev, err)
	}
	full := ev.Repo.FullName()
	g := forgetest.NewGitHub(t)
	g.AddInstallation(full, 7)
	g.SetPermission(full, ev.Actor.Login, "read")
	c := newClient(t, g)

	ok, err := forge.AuthorizeComment(context.Background(), c, ev)
	if err != nil || ok {
		t.Fatalf("AuthorizeComment = %v, %v; want a refusal", ok, err)
	}
	assertSequence(t, g.Sequence(),
		"POST /app/installations/7/access_tokens",
		fmt.Sprintf("GET /repos/%s/collaborators/%s/permission", full, ev.Actor.Login),
		fmt.Sprintf("POST /repos/%s/issues/comments/%d/reactions", full, ev.Comment.ID),
		fmt.Sprintf("POST /repos/%s/issues/%d/comments", full, ev.PullNumber()),
	)
	if r := g.Reactions(); len(r) != 1 || r[0]["content"] != "confused" {
		t.Errorf("reactions %v", r)
	}
	if cm := g.Comments(); len(cm) != 1 || !strings.Contains(fmt.Sprint(cm[0]["body"]), "only people with write access") {
		t.Errorf("comments %v", cm)
	}
}

func TestCanTrigger(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	for user, perm := range map[string]string{"a": "admin", "m": "maintain", "w": "write", "t": "triage", "r": "read", "n": "none"} {
		g.SetPermission("octo/pkgs", user, perm)
	}
	c := newClient(t, g)
	for user, want := range map[string]bool{"a": true, "m": true, "w": true, "t": false, "r": false, "n": false, "ghost": false} {
		got, err := c.CanTrigger(context.Background(), repo, forge.User{Login: user})
		if err != nil || got != want {
			t.Errorf("CanTrigger(%s) = %v, %v; want %v", user, got, err, want)
		}
	}
}

func TestReadFile(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	g.SetFile("octo/pkgs", sha, ".openwrt-ppa.yml", []byte("series: [\"24.10\"]\n"))
	c := newClient(t, g)
	data, found, err := c.ReadFile(context.Background(), repo, sha, ".openwrt-ppa.yml")
	if err != nil || !found || string(data) != "series: [\"24.10\"]\n" {
		t.Fatalf("ReadFile = %q, %v, %v", data, found, err)
	}
	data, found, err = c.ReadFile(context.Background(), repo, "0123456789012345678901234567890123456789", ".openwrt-ppa.yml")
	if err != nil || found || data != nil {
		t.Fatalf("missing file: ReadFile = %q, %v, %v; want no config and no error", data, found, err)
	}
}

// Without an installation id (an event stored before it was known), the client asks with the
// App's JWT which installation covers the repository.
func TestInstallationLookup(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	c := newClient(t, g)
	r := repo
	r.Installation = 0
	if err := c.Reply(context.Background(), r, 5, "hello"); err != nil {
		t.Fatal(err)
	}
	assertSequence(t, g.Sequence(),
		"GET /repos/octo/pkgs/installation",
		"POST /app/installations/7/access_tokens",
		"POST /repos/octo/pkgs/issues/5/comments",
	)
	if auth := g.Calls()[0].Auth; !strings.HasPrefix(auth, "Bearer ") {
		t.Errorf("installation lookup authenticated with %q, want the App JWT", auth)
	}
}

func TestSecondaryRateLimitRetried(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	g.RateLimit("POST", "/repos/octo/pkgs/check-runs", 2)
	c := newClient(t, g)
	if _, err := c.ReportCheck(context.Background(), repo, forge.Check{Name: "n", SHA: sha, State: forge.CheckQueued,
		FeedURL: "https://ppa.example/octo/pkgs/main/24.10/x86_64/"}); err != nil {
		t.Fatal(err)
	}
	assertSequence(t, g.Sequence(),
		"POST /app/installations/7/access_tokens",
		"POST /repos/octo/pkgs/check-runs",
		"POST /repos/octo/pkgs/check-runs",
		"POST /repos/octo/pkgs/check-runs",
	)
	if b := string(g.Calls()[3].Body); !strings.Contains(b, "Feed: https://ppa.example/octo/pkgs/main/24.10/x86_64/") {
		t.Errorf("the feed URL is not in the summary: %s", b)
	}
}

func TestSecondaryRateLimitGivesUp(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	g.RateLimit("POST", "/repos/octo/pkgs/check-runs", 100)
	c := newClient(t, g)
	if _, err := c.ReportCheck(context.Background(), repo, forge.Check{Name: "n", SHA: sha, State: forge.CheckQueued}); err == nil {
		t.Fatal("ReportCheck succeeded through a rate limit that never lifts")
	}
	if n := len(g.Calls()); n != 1+5 {
		t.Errorf("%d calls, want the token and 5 tries", n)
	}
}

// GitHub limits: a summary over 65535 characters is cut, and 120 annotations go out as 50 with
// the report and two more updates of 50 and 20. The fake validates both against the OpenAPI
// description's maxLength and maxItems.
func TestCheckLimits(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	c := newClient(t, g)
	var anns []forge.Annotation
	for i := range 120 {
		anns = append(anns, forge.Annotation{Path: "net/foo/Makefile", StartLine: i + 1, Level: "failure", Message: "error"})
	}
	id, err := c.ReportCheck(context.Background(), repo, forge.Check{
		Name: "n", SHA: sha, State: forge.CheckFailure, Title: "failed",
		Summary: strings.Repeat("é", 70000), Annotations: anns,
	})
	if err != nil {
		t.Fatal(err)
	}
	assertSequence(t, g.Sequence(),
		"POST /app/installations/7/access_tokens",
		"POST /repos/octo/pkgs/check-runs",
		"PATCH /repos/octo/pkgs/check-runs/"+id,
		"PATCH /repos/octo/pkgs/check-runs/"+id,
	)
	var runID int64
	fmt.Sscan(id, &runID)
	out, _ := g.CheckRun(runID)["output"].(map[string]any)
	if a, _ := out["annotations"].([]any); len(a) != 120 {
		t.Errorf("%d annotations reached GitHub, want 120", len(a))
	}
	if !strings.Contains(string(g.Calls()[1].Body), `"identifier":"rebuild"`) {
		t.Errorf("a failed check offers no Rebuild action: %s", g.Calls()[1].Body)
	}
}

func TestPull(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	g.SetPull("octo/pkgs", 3, sha, "feature", "main", 99, repo.ID)
	pr, err := newClient(t, g).Pull(context.Background(), repo, 3)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Number != 3 || pr.HeadSHA != sha || pr.HeadRef != "feature" || pr.BaseRef != "main" || !pr.FromFork {
		t.Errorf("Pull = %+v", pr)
	}
}

// The installation token is cached while it lives and bought again when it is about to expire
// (ghinstallation renews a minute before).
func TestInstallationTokenRefreshed(t *testing.T) {
	g := forgetest.NewGitHub(t)
	g.AddInstallation("octo/pkgs", 7)
	g.SetTokenTTL(30 * time.Second)
	c := newClient(t, g)
	for range 2 {
		if err := c.Reply(context.Background(), repo, 5, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	assertSequence(t, g.Sequence(),
		"POST /app/installations/7/access_tokens",
		"POST /repos/octo/pkgs/issues/5/comments",
		"POST /app/installations/7/access_tokens",
		"POST /repos/octo/pkgs/issues/5/comments",
	)
	if calls := g.Calls(); calls[1].Auth == calls[3].Auth {
		t.Errorf("the second call reused the expiring token %q", calls[1].Auth)
	}
}
