package github_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

type want struct {
	kind   forge.Kind
	err    error // forge.ErrIgnored or forge.ErrMalformed instead of an event
	ref    string
	sha    string
	pr     int
	actor  string
	repo   string
	inst   int64
	repos  []string
	check  int64
	suite  int64
	fork   bool
	merged bool
}

const (
	shaEC   = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	shaD6   = "d6fde92930d4715a2b49857d24b940956b26d2d3"
	sha6113 = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
)

// One row per file of ../shared/testdata/webhooks/github. Mind the traps its README lists:
// push/payload.json and its with-* siblings delete a tag; issue_comment/created* are on plain
// issues; pull_request/closed is not merged.
var cases = []struct {
	file, event string
	want        want
}{
	{"go-playground/check-run.json", "check_run", want{kind: forge.KindCheckRerun, ref: "refs/heads/master", sha: shaD6, actor: "octocat", repo: "github/hello-world", inst: 1, check: 4, suite: 5}},
	{"go-playground/check-suite.json", "check_suite", want{err: forge.ErrIgnored}},                  // requested: the push drives builds
	{"go-playground/pull-request-issue-comment.json", "issue_comment", want{err: forge.ErrIgnored}}, // "/build" is not our command
	{"go-playground/push.json", "push", want{kind: forge.KindPush, ref: "refs/heads/master", sha: "fd489864e7642b48eaad6e3f155c10e46810ec72", actor: "binkkatal", repo: "binkkatal/sample_app"}},
	{"octokit/check_run/completed.payload.json", "check_run", want{err: forge.ErrIgnored}},
	{"octokit/check_run/created.payload.json", "check_run", want{err: forge.ErrIgnored}},
	{"octokit/check_run/requested_action.payload.json", "check_run", want{err: forge.ErrIgnored}}, // another app's "lgtm" button
	{"octokit/check_run/rerequested.payload.json", "check_run", want{kind: forge.KindCheckRerun, ref: "refs/heads/master", sha: shaD6, actor: "octocat", repo: "github/hello-world", inst: 1, check: 4, suite: 5}},
	{"octokit/check_suite/requested.payload.json", "check_suite", want{err: forge.ErrIgnored}},
	{"octokit/check_suite/rerequested.payload.json", "check_suite", want{kind: forge.KindCheckRerun, ref: "refs/heads/changes", sha: shaEC, pr: 2, actor: "octocoders-linter[bot]", repo: "Codertocat/Hello-World", inst: 957387, suite: 118578147}},
	{"octokit/create/payload.json", "create", want{err: forge.ErrIgnored}},
	{"octokit/create/with-installation.payload.json", "create", want{err: forge.ErrIgnored}},
	{"octokit/create/with-organization.payload.json", "create", want{err: forge.ErrIgnored}},
	{"octokit/delete/payload.json", "delete", want{err: forge.ErrIgnored}},
	{"octokit/delete/with-installation.payload.json", "delete", want{err: forge.ErrIgnored}},
	{"octokit/delete/with-organization.payload.json", "delete", want{err: forge.ErrIgnored}},
	{"octokit/installation/created.payload.json", "installation", want{kind: forge.KindInstalled, actor: "Codertocat", inst: 957387, repos: []string{"Codertocat/Hello-World"}}},
	{"octokit/installation/deleted.payload.json", "installation", want{kind: forge.KindUninstalled, actor: "octocat", inst: 2, repos: []string{"octocat/Hello-World"}}},
	{"octokit/installation_repositories/added.payload.json", "installation_repositories", want{kind: forge.KindReposAdded, actor: "Codertocat", inst: 957387, repos: []string{"Codertocat/Space"}}},
	{"octokit/installation_repositories/removed.payload.json", "installation_repositories", want{kind: forge.KindReposRemoved, actor: "octocat", inst: 2, repos: []string{"octocat/Hello-World"}}},
	{"octokit/issue_comment/created.1.payload.json", "issue_comment", want{err: forge.ErrIgnored}},
	{"octokit/issue_comment/created.payload.json", "issue_comment", want{err: forge.ErrIgnored}},
	{"octokit/issue_comment/created.with-installation.payload.json", "issue_comment", want{err: forge.ErrIgnored}},
	{"octokit/issue_comment/created.with-organization.payload.json", "issue_comment", want{err: forge.ErrIgnored}},
	{"octokit/ping/payload.json", "ping", want{kind: forge.KindPing, actor: "Codertocat", repo: "Octocoders/Hello-World"}},
	{"octokit/ping/with-app_id.payload.json", "ping", want{kind: forge.KindPing, actor: "Codertocat", repo: "Octocoders/Hello-World"}},
	{"octokit/ping/with-organization.payload.json", "ping", want{kind: forge.KindPing, actor: "Codertocat"}},
	{"octokit/pull_request/closed.payload.json", "pull_request", want{kind: forge.KindPullClosed, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/pull_request/opened.payload.json", "pull_request", want{kind: forge.KindPullOpened, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/pull_request/opened.with-null-body.json", "pull_request", want{kind: forge.KindPullOpened, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/pull_request/reopened.payload.json", "pull_request", want{kind: forge.KindPullReopened, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/pull_request/synchronize.payload.json", "pull_request", want{kind: forge.KindPullUpdated, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/push/1.payload.json", "push", want{kind: forge.KindTagDeleted, ref: "refs/tags/simple-tag", actor: "Codertocat", repo: "Codertocat/Hello-World"}},
	{"octokit/push/payload.json", "push", want{kind: forge.KindTagDeleted, ref: "refs/tags/simple-tag", actor: "Codertocat", repo: "Codertocat/Hello-World"}},
	{"octokit/push/with-installation.payload.json", "push", want{kind: forge.KindTagDeleted, ref: "refs/tags/simple-tag", actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/push/with-new-branch.payload.json", "push", want{kind: forge.KindPush, ref: "refs/heads/master", sha: sha6113, actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/push/with-no-username-committer.payload.json", "push", want{kind: forge.KindPush, ref: "refs/heads/master", sha: sha6113, actor: "Codertocat", repo: "Codertocat/Hello-World", inst: 1}},
	{"octokit/push/with-organization.payload.json", "push", want{kind: forge.KindTagDeleted, ref: "refs/tags/simple-tag", actor: "Codertocat", repo: "Codertocat/Hello-World"}},
	{"octokit/release/published.payload.json", "release", want{err: forge.ErrIgnored}},
}

// The project's own bodies (forge/forgetest/testdata/webhooks/github, written from GitHub's
// documented payload schemas): one row per file; the folder is the event.
const (
	ownMain = "8e2d4c6a0b1f3e5d7c9a2b4d6f8e0a1c3b5d7f9e"
	ownPR   = "b16b00b5b16b00b5b16b00b5b16b00b5b16b00b5"
	ownFork = "d00dfeedd00dfeedd00dfeedd00dfeedd00dfeed"
	ownRepo = "lede-fans/luci-app-demo"
	ownInst = 770001
)

var ownCases = []struct {
	file string
	want want
}{
	{"check_run/completed.json", want{err: forge.ErrIgnored}},
	{"check_run/requested-action-rebuild.json", want{kind: forge.KindCheckRerun, ref: "refs/heads/listen-ipv6", sha: ownFork, pr: 8, actor: "alice-lede", repo: ownRepo, inst: ownInst, check: 5500000002, suite: 6600000002, fork: true}},
	{"check_run/rerequested.json", want{kind: forge.KindCheckRerun, ref: "refs/heads/main", sha: ownMain, actor: "alice-lede", repo: ownRepo, inst: ownInst, check: 5500000001, suite: 6600000001}},
	{"check_suite/requested.json", want{err: forge.ErrIgnored}},
	{"check_suite/rerequested.json", want{kind: forge.KindCheckRerun, ref: "refs/heads/listen-ipv6", sha: ownFork, pr: 8, actor: "alice-lede", repo: ownRepo, inst: ownInst, suite: 6600000002, fork: true}},
	{"create/tag.json", want{err: forge.ErrIgnored}},
	{"delete/tag.json", want{err: forge.ErrIgnored}},
	{"installation/created.json", want{kind: forge.KindInstalled, actor: "alice-lede", inst: ownInst, repos: []string{ownRepo, "lede-fans/private-feed"}}},
	{"installation/deleted.json", want{kind: forge.KindUninstalled, actor: "alice-lede", inst: ownInst, repos: []string{ownRepo}}},
	{"installation_repositories/added.json", want{kind: forge.KindReposAdded, actor: "alice-lede", inst: ownInst, repos: []string{"lede-fans/private-feed"}}},
	{"installation_repositories/removed.json", want{kind: forge.KindReposRemoved, actor: "alice-lede", inst: ownInst, repos: []string{"lede-fans/private-feed"}}},
	{"issue_comment/on-issue.json", want{err: forge.ErrIgnored}},
	{"issue_comment/rebuild-on-pull.json", want{kind: forge.KindRebuild, ref: "refs/pull/8/head", pr: 8, actor: "alice-lede", repo: ownRepo, inst: ownInst}},
	{"ping/repository-hook.json", want{kind: forge.KindPing, actor: "alice-lede", repo: ownRepo}},
	{"pull_request/closed-merged.json", want{kind: forge.KindPullClosed, ref: "refs/pull/7/head", sha: ownPR, pr: 7, actor: "alice-lede", repo: ownRepo, inst: ownInst, merged: true}},
	{"pull_request/labeled.json", want{err: forge.ErrIgnored}},
	{"pull_request/opened.json", want{kind: forge.KindPullOpened, ref: "refs/pull/7/head", sha: ownPR, pr: 7, actor: "alice-lede", repo: ownRepo, inst: ownInst}},
	{"pull_request/synchronize-from-fork.json", want{kind: forge.KindPullUpdated, ref: "refs/pull/8/head", sha: ownFork, pr: 8, actor: "bob-fork", repo: ownRepo, inst: ownInst, fork: true}},
	{"push/branch-created.json", want{kind: forge.KindPush, ref: "refs/heads/next", sha: ownMain, actor: "alice-lede", repo: ownRepo, inst: ownInst}},
	{"push/branch-deleted.json", want{kind: forge.KindBranchDeleted, ref: "refs/heads/next", actor: "alice-lede", repo: ownRepo, inst: ownInst}},
	{"push/branch-updated.json", want{kind: forge.KindPush, ref: "refs/heads/main", sha: ownMain, actor: "alice-lede", repo: ownRepo, inst: ownInst}},
	// An annotated tag: "after" is the tag object, head_commit the commit to build.
	{"push/tag-created.json", want{kind: forge.KindTag, ref: "refs/tags/v1.2.0", sha: ownMain, actor: "alice-lede", repo: ownRepo, inst: ownInst}},
	{"push/tag-deleted.json", want{kind: forge.KindTagDeleted, ref: "refs/tags/v1.1.0", actor: "alice-lede", repo: ownRepo, inst: ownInst}},
	{"release/published.json", want{err: forge.ErrIgnored}},
}

func TestParseOwnPayloads(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range ownCases {
		seen["github/"+c.file] = true
		t.Run(c.file, func(t *testing.T) {
			event, _, _ := strings.Cut(c.file, "/")
			parseAndCheck(t, "own/"+c.file, event, forgetest.Payload(t, "github/"+c.file), c.want)
		})
	}
	for _, f := range forgetest.Payloads(t, "github") {
		if !seen[f] {
			t.Errorf("no test row for %s", f)
		}
	}
}

func TestParseFixtures(t *testing.T) {
	dir := forgetest.SharedTestdata(t, "webhooks", "github")
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.file] = true
		t.Run(c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			parseAndCheck(t, c.file, c.event, body, c.want)
		})
	}
	// Every file in the folder has a row: new test data cannot slip by untested.
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*.json"))
	for _, f := range append(files, more...) {
		rel, _ := filepath.Rel(dir, f)
		if !seen[filepath.ToSlash(rel)] {
			t.Errorf("no test row for %s", rel)
		}
	}
}

// parseAndCheck parses one delivery, compares it with its golden file and the expectations.
func parseAndCheck(t *testing.T, golden, event string, body []byte, w want) {
	t.Helper()
	h := http.Header{}
	h.Set(github.HeaderEvent, event)
	h.Set(github.HeaderDelivery, "d-"+golden)
	h.Set("Content-Type", "application/json")
	ev, err := github.Parse(h, body)
	if !forgetest.Parsed(t, golden, ev, err, w.err, *update) {
		return
	}
	checkEvent(t, ev, w)
	if ev.DeliveryID != "d-"+golden || ev.Forge != forge.GitHub {
		t.Errorf("delivery %q forge %q", ev.DeliveryID, ev.Forge)
	}
}

func checkEvent(t *testing.T, ev *forge.Event, w want) {
	t.Helper()
	if ev.Kind != w.kind {
		t.Errorf("kind %q, want %q", ev.Kind, w.kind)
	}
	if ev.Ref != w.ref {
		t.Errorf("ref %q, want %q", ev.Ref, w.ref)
	}
	if ev.SHA != w.sha {
		t.Errorf("sha %q, want %q", ev.SHA, w.sha)
	}
	if ev.PullNumber() != w.pr {
		t.Errorf("pull %d, want %d", ev.PullNumber(), w.pr)
	}
	if ev.Actor.Login != w.actor {
		t.Errorf("actor %q, want %q", ev.Actor.Login, w.actor)
	}
	if w.repo != "" && ev.Repo.FullName() != w.repo {
		t.Errorf("repo %q, want %q", ev.Repo.FullName(), w.repo)
	}
	if w.inst != 0 && ev.Repo.Installation != w.inst && ev.Installation != w.inst {
		t.Errorf("installation %d/%d, want %d", ev.Repo.Installation, ev.Installation, w.inst)
	}
	if w.repos != nil {
		var got []string
		for _, r := range ev.Repos {
			got = append(got, r.FullName())
		}
		if !slices.Equal(got, w.repos) {
			t.Errorf("repos %v, want %v", got, w.repos)
		}
	}
	if w.check != 0 || w.suite != 0 {
		if ev.Check == nil || ev.Check.ID != w.check || ev.Check.SuiteID != w.suite {
			t.Errorf("check %+v, want id %d suite %d", ev.Check, w.check, w.suite)
		}
	}
	if ev.Pull != nil && (ev.Pull.FromFork != w.fork || ev.Pull.Merged != w.merged) {
		t.Errorf("pull %+v, want fork %v merged %v", ev.Pull, w.fork, w.merged)
	}
}
