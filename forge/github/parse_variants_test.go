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

// Variants of the real payloads for what the fixtures do not show: commands, forks, merges.
func TestParseVariants(t *testing.T) {
	dir := forgetest.SharedTestdata(t, "webhooks", "github")
	prComment := forgetest.ReadFile(t, filepath.Join(dir, "go-playground/pull-request-issue-comment.json"))
	issueComment := forgetest.ReadFile(t, filepath.Join(dir, "octokit/issue_comment/created.payload.json"))
	closed := forgetest.ReadFile(t, filepath.Join(dir, "octokit/pull_request/closed.payload.json"))
	opened := forgetest.ReadFile(t, filepath.Join(dir, "octokit/pull_request/opened.payload.json"))
	push := forgetest.ReadFile(t, filepath.Join(dir, "go-playground/push.json"))
	checkRun := forgetest.ReadFile(t, filepath.Join(dir, "octokit/check_run/requested_action.payload.json"))

	comment := func(body string) func(map[string]any) {
		return func(d map[string]any) { forgetest.Obj(t, d, "comment")["body"] = body }
	}
	cases := []struct {
		name, event string
		body        []byte
		want        want
		reply       bool
		comment     int64
	}{
		{name: "rebuild on a pull request", event: "issue_comment", body: forgetest.Rewrite(t, prComment, comment("Looks flaky.\n/rebuild")),
			want: want{kind: forge.KindRebuild, ref: "refs/pull/3/head", pr: 3, actor: "chhsia0", repo: "chhsia0/knative-route-demo"}, comment: 546616131},
		{name: "rebuild failed", event: "issue_comment", body: forgetest.Rewrite(t, prComment, comment("/rebuild failed")),
			want: want{kind: forge.KindRebuildFailed, ref: "refs/pull/3/head", pr: 3, actor: "chhsia0", repo: "chhsia0/knative-route-demo"}, comment: 546616131},
		{name: "usage reply", event: "issue_comment", body: forgetest.Rewrite(t, prComment, comment("/rebuild all")),
			want: want{kind: forge.KindCommentReply, ref: "refs/pull/3/head", pr: 3, actor: "chhsia0", repo: "chhsia0/knative-route-demo"}, reply: true, comment: 546616131},
		{name: "rebuild on a plain issue", event: "issue_comment", body: forgetest.Rewrite(t, issueComment, comment("/rebuild")),
			want: want{err: forge.ErrIgnored}},
		{name: "rebuild by a bot", event: "issue_comment", body: forgetest.Rewrite(t, prComment, func(d map[string]any) {
			comment("/rebuild")(d)
			forgetest.Obj(t, d, "sender")["type"] = "Bot"
		}), want: want{err: forge.ErrIgnored}},
		{name: "edited comment", event: "issue_comment", body: forgetest.Rewrite(t, prComment, func(d map[string]any) {
			comment("/rebuild")(d)
			d["action"] = "edited"
		}), want: want{err: forge.ErrIgnored}},
		{name: "merged pull request", event: "pull_request", body: forgetest.Rewrite(t, closed, func(d map[string]any) {
			forgetest.Obj(t, d, "pull_request")["merged"] = true
		}), want: want{kind: forge.KindPullClosed, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", merged: true}},
		{name: "pull request from a fork", event: "pull_request", body: forgetest.Rewrite(t, opened, func(d map[string]any) {
			forgetest.Obj(t, d, "pull_request", "head", "repo")["id"] = 99
		}), want: want{kind: forge.KindPullOpened, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", fork: true}},
		{name: "pull request from a deleted fork", event: "pull_request", body: forgetest.Rewrite(t, opened, func(d map[string]any) {
			forgetest.Obj(t, d, "pull_request", "head")["repo"] = nil
		}), want: want{kind: forge.KindPullOpened, ref: "refs/pull/2/head", sha: shaEC, pr: 2, actor: "Codertocat", repo: "Codertocat/Hello-World", fork: true}},
		{name: "labelled pull request", event: "pull_request", body: forgetest.Rewrite(t, opened, func(d map[string]any) { d["action"] = "labeled" }),
			want: want{err: forge.ErrIgnored}},
		{name: "branch deleted", event: "push", body: forgetest.Rewrite(t, push, func(d map[string]any) {
			d["after"], d["deleted"], d["head_commit"] = forge.ZeroSHA, true, nil
		}), want: want{kind: forge.KindBranchDeleted, ref: "refs/heads/master", actor: "binkkatal", repo: "binkkatal/sample_app"}},
		{name: "tag pushed", event: "push", body: forgetest.Rewrite(t, push, func(d map[string]any) { d["ref"] = "refs/tags/v1.0" }),
			want: want{kind: forge.KindTag, ref: "refs/tags/v1.0", sha: "fd489864e7642b48eaad6e3f155c10e46810ec72", actor: "binkkatal", repo: "binkkatal/sample_app"}},
		{name: "push without commit", event: "push", body: forgetest.Rewrite(t, push, func(d map[string]any) { d["after"] = "nope" }),
			want: want{err: forge.ErrMalformed}},
		{name: "our rebuild button", event: "check_run", body: forgetest.Rewrite(t, checkRun, func(d map[string]any) {
			forgetest.Obj(t, d, "requested_action")["identifier"] = forge.ActionRebuild
		}), want: want{kind: forge.KindCheckRerun, ref: "refs/heads/miniak/event-process-id", sha: "5bd5f196a46b8222fb7484f05faba41a73cf34bd", pr: 26764, actor: "codebytere", repo: "electron/electron", inst: 690857, check: 1494503112, suite: 1604239627}},
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
