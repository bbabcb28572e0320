package github_test

import (
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
)

// variantBase is a set of bodies the variants rewrite, and what those bodies say.
type variantBase struct {
	prComment, issueComment, pull, push, checkRun []byte
	comment                                       want  // prComment as a /rebuild (kind set per row)
	commentID                                     int64 // its comment id
	pullWant                                      want  // pull: a same-repository, unmerged pull request
	pushWant                                      want  // push: a branch update
	checkWant                                     want  // checkRun with openwrt-ppa's rebuild action
}

// ownBase: the project's bodies (forge/forgetest/testdata/webhooks/github).
func ownBase(t *testing.T) variantBase {
	opened := forgetest.Payload(t, "github/pull_request/opened.json")
	return variantBase{
		prComment:    forgetest.Payload(t, "github/issue_comment/rebuild-on-pull.json"),
		issueComment: forgetest.Payload(t, "github/issue_comment/on-issue.json"),
		pull:         opened,
		push:         forgetest.Payload(t, "github/push/branch-updated.json"),
		checkRun:     forgetest.Payload(t, "github/check_run/requested-action-rebuild.json"),
		comment:      want{ref: "refs/pull/8/head", pr: 8, actor: "alice-lede", repo: ownRepo},
		commentID:    4400000101,
		pullWant:     want{ref: "refs/pull/7/head", sha: ownPR, pr: 7, actor: "alice-lede", repo: ownRepo},
		pushWant:     want{ref: "refs/heads/main", sha: ownMain, actor: "alice-lede", repo: ownRepo},
		checkWant:    want{kind: forge.KindCheckRerun, ref: "refs/heads/listen-ipv6", sha: ownFork, pr: 8, actor: "alice-lede", repo: ownRepo, inst: ownInst, check: 5500000002, suite: 6600000002, fork: true},
	}
}

// sharedBase: the real-world corpus (../shared/testdata/webhooks/github).
func sharedBase(t *testing.T) variantBase {
	dir := forgetest.SharedTestdata(t, "webhooks", "github")
	read := func(f string) []byte { return forgetest.ReadFile(t, filepath.Join(dir, f)) }
	return variantBase{
		prComment:    read("go-playground/pull-request-issue-comment.json"),
		issueComment: read("octokit/issue_comment/created.payload.json"),
		pull:         read("octokit/pull_request/opened.payload.json"),
		push:         read("go-playground/push.json"),
		checkRun:     read("octokit/check_run/requested_action.payload.json"),
		comment:      want{ref: "refs/pull/3/head", pr: 3, actor: "chhsia0", repo: "chhsia0/knative-route-demo"},
		commentID:    546616131,
		pullWant:     want{ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World"},
		pushWant:     want{ref: "refs/heads/master", sha: "fd489864e7642b48eaad6e3f155c10e46810ec72", actor: "binkkatal", repo: "binkkatal/sample_app"},
		checkWant:    want{kind: forge.KindCheckRerun, ref: "refs/heads/miniak/event-process-id", sha: "5bd5f196a46b8222fb7484f05faba41a73cf34bd", pr: 26764, actor: "codebytere", repo: "electron/electron", inst: 690857, check: 1494503112, suite: 1604239627},
	}
}

// Variants of the bodies for what the files do not show: commands, forks, merges.
func TestParseVariants(t *testing.T) {
	t.Run("own", func(t *testing.T) { parseVariants(t, ownBase(t)) })
	t.Run("shared", func(t *testing.T) { parseVariants(t, sharedBase(t)) })
}

func parseVariants(t *testing.T, b variantBase) {
	comment := func(body string) func(map[string]any) {
		return func(d map[string]any) { forgetest.Obj(t, d, "comment")["body"] = body }
	}
	with := func(w want, f func(*want)) want { f(&w); return w }
	action := func(id string) func(map[string]any) {
		return func(d map[string]any) { forgetest.Obj(t, d, "requested_action")["identifier"] = id }
	}
	cases := []struct {
		name, event string
		body        []byte
		want        want
		reply       bool
		comment     int64
	}{
		{name: "rebuild on a pull request", event: "issue_comment", body: forgetest.Rewrite(t, b.prComment, comment("Looks flaky.\n/rebuild")),
			want: with(b.comment, func(w *want) { w.kind = forge.KindRebuild }), comment: b.commentID},
		{name: "rebuild failed", event: "issue_comment", body: forgetest.Rewrite(t, b.prComment, comment("/rebuild failed")),
			want: with(b.comment, func(w *want) { w.kind = forge.KindRebuildFailed }), comment: b.commentID},
		{name: "usage reply", event: "issue_comment", body: forgetest.Rewrite(t, b.prComment, comment("/rebuild all")),
			want: with(b.comment, func(w *want) { w.kind = forge.KindCommentReply }), reply: true, comment: b.commentID},
		{name: "no command", event: "issue_comment", body: forgetest.Rewrite(t, b.prComment, comment("LGTM")),
			want: want{err: forge.ErrIgnored}},
		{name: "rebuild on a plain issue", event: "issue_comment", body: forgetest.Rewrite(t, b.issueComment, comment("/rebuild")),
			want: want{err: forge.ErrIgnored}},
		{name: "rebuild by a bot", event: "issue_comment", body: forgetest.Rewrite(t, b.prComment, func(d map[string]any) {
			comment("/rebuild")(d)
			forgetest.Obj(t, d, "sender")["type"] = "Bot"
		}), want: want{err: forge.ErrIgnored}},
		{name: "edited comment", event: "issue_comment", body: forgetest.Rewrite(t, b.prComment, func(d map[string]any) {
			comment("/rebuild")(d)
			d["action"] = "edited"
		}), want: want{err: forge.ErrIgnored}},
		{name: "closed pull request", event: "pull_request", body: forgetest.Rewrite(t, b.pull, func(d map[string]any) { d["action"] = "closed" }),
			want: with(b.pullWant, func(w *want) { w.kind = forge.KindPullClosed })},
		{name: "merged pull request", event: "pull_request", body: forgetest.Rewrite(t, b.pull, func(d map[string]any) {
			d["action"] = "closed"
			forgetest.Obj(t, d, "pull_request")["merged"] = true
		}), want: with(b.pullWant, func(w *want) { w.kind, w.merged = forge.KindPullClosed, true })},
		{name: "pull request from a fork", event: "pull_request", body: forgetest.Rewrite(t, b.pull, func(d map[string]any) {
			forgetest.Obj(t, d, "pull_request", "head", "repo")["id"] = 99
		}), want: with(b.pullWant, func(w *want) { w.kind, w.fork = forge.KindPullOpened, true })},
		{name: "pull request from a deleted fork", event: "pull_request", body: forgetest.Rewrite(t, b.pull, func(d map[string]any) {
			forgetest.Obj(t, d, "pull_request", "head")["repo"] = nil
		}), want: with(b.pullWant, func(w *want) { w.kind, w.fork = forge.KindPullOpened, true })},
		{name: "labelled pull request", event: "pull_request", body: forgetest.Rewrite(t, b.pull, func(d map[string]any) { d["action"] = "labeled" }),
			want: want{err: forge.ErrIgnored}},
		{name: "pull request without head commit", event: "pull_request", body: forgetest.Rewrite(t, b.pull, func(d map[string]any) {
			forgetest.Obj(t, d, "pull_request", "head")["sha"] = "HEAD"
		}), want: want{err: forge.ErrMalformed}},
		{name: "branch deleted", event: "push", body: forgetest.Rewrite(t, b.push, func(d map[string]any) {
			d["after"], d["deleted"], d["head_commit"] = forge.ZeroSHA, true, nil
		}), want: with(b.pushWant, func(w *want) { w.kind, w.sha = forge.KindBranchDeleted, "" })},
		{name: "tag pushed", event: "push", body: forgetest.Rewrite(t, b.push, func(d map[string]any) { d["ref"] = "refs/tags/v1.0" }),
			want: with(b.pushWant, func(w *want) { w.kind, w.ref = forge.KindTag, "refs/tags/v1.0" })},
		{name: "push of a note ref", event: "push", body: forgetest.Rewrite(t, b.push, func(d map[string]any) { d["ref"] = "refs/notes/commits" }),
			want: want{err: forge.ErrIgnored}},
		{name: "push without commit", event: "push", body: forgetest.Rewrite(t, b.push, func(d map[string]any) { d["after"] = "nope" }),
			want: want{err: forge.ErrMalformed}},
		{name: "our rebuild button", event: "check_run", body: forgetest.Rewrite(t, b.checkRun, action(forge.ActionRebuild)), want: b.checkWant},
		{name: "another app's button", event: "check_run", body: forgetest.Rewrite(t, b.checkRun, action("lgtm")), want: want{err: forge.ErrIgnored}},
		{name: "not JSON", event: "push", body: []byte("{"), want: want{err: forge.ErrMalformed}},
		{name: "JSON of the wrong shape", event: "pull_request", body: []byte(`{"pull_request": 5}`), want: want{err: forge.ErrMalformed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(github.HeaderEvent, c.event)
			ev, err := github.Parse(h, c.body)
			if c.want.err != nil {
				if !errors.Is(err, c.want.err) {
					t.Fatalf("Parse = %+v, %v; want %v", ev, err, c.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkEvent(t, ev, c.want)
			if c.reply != (ev.Reply != "") {
				t.Errorf("reply %q, want one: %v", ev.Reply, c.reply)
			}
			if c.comment != 0 && (ev.Comment == nil || ev.Comment.ID != c.comment || ev.Comment.PullNumber != ev.PullNumber()) {
				t.Errorf("comment %+v, want id %d", ev.Comment, c.comment)
			}
			if ev.DeliveryID != forge.BodyDeliveryID(c.body) {
				t.Errorf("a delivery without X-GitHub-Delivery got id %q", ev.DeliveryID)
			}
		})
	}
}
