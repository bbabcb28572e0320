package gitlab_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

func newClient(t *testing.T, g *forgetest.GitLab) *gitlab.Client {
	t.Helper()
	c, err := gitlab.New(gitlab.Config{
		URL: g.URL, Token: forgetest.GitLabToken,
		RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var repo = forge.Repo{Forge: forge.GitLab, ID: 15, Owner: "mike", Name: "diaspora"}

const sha = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"

func assertSequence(t *testing.T, got []string, want ...string) {
	t.Helper()
	if d := forgetest.DiffSequence(got, want); d != "" {
		t.Fatal(d)
	}
}

// A build's life on GitLab: pending → running → success, one status keyed by its name, each
// with the token. A repeated report (a retried job reporting "running" again) is no error.
func TestBuildLifeCallSequence(t *testing.T) {
	g := forgetest.NewGitLab(t)
	c := newClient(t, g)
	ctx := context.Background()
	chk := forge.Check{Name: "openwrt-ppa: 24.10/x86_64", SHA: sha, Ref: "refs/heads/master", State: forge.CheckQueued,
		Title: "Queued", DetailsURL: "https://ppa.example/mike/diaspora/-/builds/3"}
	for _, st := range []forge.CheckState{forge.CheckQueued, forge.CheckInProgress, forge.CheckInProgress, forge.CheckSuccess} {
		chk.State = st
		id, err := c.ReportCheck(ctx, repo, chk)
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		chk.ID = id
	}
	path := "POST /api/v4/projects/15/statuses/" + sha
	assertSequence(t, g.Sequence(), path, path, path, path)
	if got := g.Status(15, sha, chk.Name); got != "success" {
		t.Errorf("final status %q, want success", got)
	}
	calls := g.Calls()
	for i, want := range []string{`"state":"pending"`, `"state":"running"`, `"state":"running"`, `"state":"success"`} {
		b := string(calls[i].Body)
		if !strings.Contains(b, want) || !strings.Contains(b, `"ref":"master"`) || !strings.Contains(b, `"target_url":"https://ppa.example/mike/diaspora/-/builds/3"`) {
			t.Errorf("call %d body %s, want %s with ref and target_url", i, b, want)
		}
	}
	if calls[2].Status != 400 {
		t.Errorf("the repeated running answered %d; the test wants GitLab's 400 taken as done", calls[2].Status)
	}
}

// Some GitLab versions refuse pending → success; the client passes through running.
func TestPendingToSuccessPassesThroughRunning(t *testing.T) {
	g := forgetest.NewGitLab(t)
	g.Strict = true
	c := newClient(t, g)
	ctx := context.Background()
	chk := forge.Check{Name: "n", SHA: sha, Ref: "refs/tags/v1", State: forge.CheckQueued}
	if _, err := c.ReportCheck(ctx, repo, chk); err != nil {
		t.Fatal(err)
	}
	chk.State = forge.CheckFailure
	if _, err := c.ReportCheck(ctx, repo, chk); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, call := range g.Calls() {
		s := string(call.Body)
		states = append(states, s[strings.Index(s, `"state":`):][:18])
	}
	if got := g.Status(15, sha, "n"); got != "failed" {
		t.Errorf("final status %q (states sent %v)", got, states)
	}
	if len(states) != 4 {
		t.Errorf("states sent %v, want pending, failed (refused), running, failed", states)
	}
}

// A refused /rebuild on a merge request: the member is a Reporter; the note gets 😕 and a
// polite reply.
func TestRefusedRebuildCallSequence(t *testing.T) {
	t.Run("own", func(t *testing.T) { refusedRebuild(t, forgetest.Payload(t, "gitlab/note_merge_request.json")) })
	t.Run("shared", func(t *testing.T) {
		dir := forgetest.SharedTestdata(t, "webhooks", "gitlab", "client-go")
		refusedRebuild(t, forgetest.ReadFile(t, filepath.Join(dir, "note_merge_request.json")))
	})
}

func refusedRebuild(t *testing.T, noteMR []byte) {
	body := forgetest.Rewrite(t, noteMR, func(d map[string]any) { forgetest.Obj(t, d, "object_attributes")["note"] = "/rebuild" })
	ev, err := gitlab.Parse(headers("Note Hook", "u", ""), body)
	if err != nil || ev.Kind != forge.KindRebuild {
		t.Fatalf("Parse = %+v, %v", ev, err)
	}
	g := forgetest.NewGitLab(t)
	g.SetMember(ev.Repo.ID, ev.Actor.ID, 20)
	ok, err := forge.AuthorizeComment(context.Background(), newClient(t, g), ev)
	if err != nil || ok {
		t.Fatalf("AuthorizeComment = %v, %v; want a refusal", ok, err)
	}
	mr := fmt.Sprintf("/api/v4/projects/%d/merge_requests/%d", ev.Repo.ID, ev.PullNumber())
	assertSequence(t, g.Sequence(),
		fmt.Sprintf("GET /api/v4/projects/%d/members/all/%d", ev.Repo.ID, ev.Actor.ID),
		fmt.Sprintf("POST %s/notes/%d/award_emoji", mr, ev.Comment.ID),
		"POST "+mr+"/notes",
	)
	if e := g.Emoji(); len(e) != 1 || e[0]["name"] != "confused" {
		t.Errorf("emoji %v", e)
	}
	if n := g.Notes(); len(n) != 1 || !strings.Contains(fmt.Sprint(n[0]["body"]), "only people with write access") {
		t.Errorf("notes %v", n)
	}
}

func TestCanTrigger(t *testing.T) {
	g := forgetest.NewGitLab(t)
	for user, level := range map[int64]int{1: 10, 2: 20, 3: 30, 4: 40, 5: 50} {
		g.SetMember(15, user, level)
	}
	c := newClient(t, g)
	for user, want := range map[int64]bool{1: false, 2: false, 3: true, 4: true, 5: true, 99: false} {
		got, err := c.CanTrigger(context.Background(), repo, forge.User{ID: user, Login: fmt.Sprint("u", user)})
		if err != nil || got != want {
			t.Errorf("CanTrigger(%d) = %v, %v; want %v", user, got, err, want)
		}
	}
}

func TestReadFile(t *testing.T) {
	g := forgetest.NewGitLab(t)
	g.SetFile(15, sha, ".openwrt-ppa.yml", []byte("archs: [x86_64]\n"))
	c := newClient(t, g)
	data, found, err := c.ReadFile(context.Background(), repo, sha, ".openwrt-ppa.yml")
	if err != nil || !found || string(data) != "archs: [x86_64]\n" {
		t.Fatalf("ReadFile = %q, %v, %v", data, found, err)
	}
	data, found, err = c.ReadFile(context.Background(), repo, "95790bf891e76fee5e1747ab589903a6a1f80f22", ".openwrt-ppa.yml")
	if err != nil || found || data != nil {
		t.Fatalf("missing file: ReadFile = %q, %v, %v; want no config and no error", data, found, err)
	}
}

func TestPull(t *testing.T) {
	g := forgetest.NewGitLab(t)
	g.SetMergeRequest(15, 3, sha, "feature", "master", 99)
	pr, err := newClient(t, g).Pull(context.Background(), repo, 3)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Number != 3 || pr.HeadSHA != sha || pr.HeadRef != "feature" || pr.BaseRef != "master" || !pr.FromFork {
		t.Errorf("Pull = %+v", pr)
	}
	assertSequence(t, g.Sequence(), "GET /api/v4/projects/15/merge_requests/3")
}

// A delivery's copy of the project (path, clone URL, visibility) is not trusted: GitLab's
// webhook token is shared, so the project is read back by id.
func TestLookupRepoTakesTheProjectFromTheAPI(t *testing.T) {
	g := forgetest.NewGitLab(t)
	g.SetProject(15, "group/sub", "proj", "https://gitlab.example.org/group/sub/proj.git", "private")
	c := newClient(t, g)
	forged := forge.Repo{Forge: forge.GitLab, ID: 15, Owner: "attacker", Name: "proj", CloneURL: "https://evil.example/x.git", Private: false}
	got, err := c.LookupRepo(context.Background(), forged)
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "group/sub" || got.Name != "proj" || got.CloneURL != "https://gitlab.example.org/group/sub/proj.git" || !got.Private || got.ID != 15 {
		t.Fatalf("LookupRepo = %+v", got)
	}
	if _, err := c.LookupRepo(context.Background(), forge.Repo{Forge: forge.GitLab, ID: 16}); err == nil {
		t.Fatal("an unknown project must be an error")
	}
}

// Web sign-in knows a GitLab user by name: the permission is still found through the user's id.
func TestCanTriggerByUserName(t *testing.T) {
	g := forgetest.NewGitLab(t)
	g.SetUser(77, "maria")
	g.SetMember(15, 77, 30)
	c := newClient(t, g)
	if ok, err := c.CanTrigger(context.Background(), repo, forge.User{Login: "maria"}); err != nil || !ok {
		t.Fatalf("a Developer found by name: %v %v", ok, err)
	}
	if ok, err := c.CanTrigger(context.Background(), repo, forge.User{Login: "nobody"}); err != nil || ok {
		t.Fatalf("an unknown name: %v %v", ok, err)
	}
}

func TestRefExists(t *testing.T) {
	g := forgetest.NewGitLab(t)
	g.SetRef(15, "branches", "release/1.x", true)
	g.SetRef(15, "tags", "v1.0", true)
	c := newClient(t, g)
	for ref, want := range map[string]bool{"refs/heads/release/1.x": true, "refs/tags/v1.0": true, "refs/heads/gone": false, "refs/tags/v9": false} {
		got, err := c.RefExists(context.Background(), repo, ref)
		if err != nil || got != want {
			t.Errorf("RefExists(%s) = %v, %v; want %v", ref, got, err, want)
		}
	}
	if _, err := c.RefExists(context.Background(), repo, "refs/pull/1/head"); err == nil {
		t.Error("a ref that is no branch or tag must be an error")
	}
}
