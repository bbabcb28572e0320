package gitlab_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

// Variants of the real payloads for what the fixtures do not show.
func TestParseVariants(t *testing.T) {
	dir := forgetest.SharedTestdata(t, "webhooks", "gitlab", "client-go")
	note := forgetest.ReadFile(t, filepath.Join(dir, "note_merge_request.json"))
	mr := forgetest.ReadFile(t, filepath.Join(dir, "merge_request.json"))
	push := forgetest.ReadFile(t, filepath.Join(dir, "push.json"))
	tag := forgetest.ReadFile(t, filepath.Join(dir, "tag_push.json"))

	noteSays := func(s string) func(map[string]any) {
		return func(d map[string]any) { forgetest.Obj(t, d, "object_attributes")["note"] = s }
	}
	mrAction := func(action string, oldrev any) func(map[string]any) {
		return func(d map[string]any) {
			a := forgetest.Obj(t, d, "object_attributes")
			a["action"] = action
			a["oldrev"] = oldrev
		}
	}
	const (
		noteSHA = "562e173be03b8ff2efb05345d12df18815438a4b"
		mrSHA   = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	)
	cases := []struct {
		name, event string
		body        []byte
		want        want
		merged      bool
	}{
		{name: "rebuild note", event: "Note Hook", body: forgetest.Rewrite(t, note, noteSays("/rebuild")),
			want: want{kind: forge.KindRebuild, ref: "refs/merge-requests/1/head", sha: noteSHA, pr: 1, actor: "root", repo: "gitlab-org/gitlab-test", private: true, comment: 1244}},
		{name: "rebuild failed note", event: "Note Hook", body: forgetest.Rewrite(t, note, noteSays("I think\n/REBUILD failed")),
			want: want{kind: forge.KindRebuildFailed, ref: "refs/merge-requests/1/head", sha: noteSHA, pr: 1, actor: "root", repo: "gitlab-org/gitlab-test", private: true, comment: 1244}},
		{name: "help note", event: "Note Hook", body: forgetest.Rewrite(t, note, noteSays("/rebuild help")),
			want: want{kind: forge.KindCommentReply, ref: "refs/merge-requests/1/head", sha: noteSHA, pr: 1, actor: "root", repo: "gitlab-org/gitlab-test", private: true, comment: 1244}},
		{name: "system note", event: "Note Hook", body: forgetest.Rewrite(t, note, func(d map[string]any) {
			noteSays("/rebuild")(d)
			forgetest.Obj(t, d, "object_attributes")["system"] = true
		}), want: want{err: forge.ErrIgnored}},
		{name: "reopened", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("reopen", nil)),
			want: want{kind: forge.KindPullReopened, ref: "refs/merge-requests/1/head", sha: mrSHA, pr: 1, actor: "user1", repo: "gitlabhq/gitlab-test"}},
		{name: "new commits", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("update", "95790bf891e76fee5e1747ab589903a6a1f80f22")),
			want: want{kind: forge.KindPullUpdated, ref: "refs/merge-requests/1/head", sha: mrSHA, pr: 1, actor: "user1", repo: "gitlabhq/gitlab-test"}},
		{name: "title edited", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("update", nil)),
			want: want{err: forge.ErrIgnored}},
		{name: "closed", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("close", nil)),
			want: want{kind: forge.KindPullClosed, ref: "refs/merge-requests/1/head", sha: mrSHA, pr: 1, actor: "user1", repo: "gitlabhq/gitlab-test"}},
		{name: "merged", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("merge", nil)), merged: true,
			want: want{kind: forge.KindPullClosed, ref: "refs/merge-requests/1/head", sha: mrSHA, pr: 1, actor: "user1", repo: "gitlabhq/gitlab-test"}},
		{name: "approved", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("approved", nil)),
			want: want{err: forge.ErrIgnored}},
		{name: "from a fork", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, func(d map[string]any) {
			forgetest.Obj(t, d, "object_attributes")["source_project_id"] = 99
		}), want: want{kind: forge.KindPullOpened, ref: "refs/merge-requests/1/head", sha: mrSHA, pr: 1, actor: "user1", repo: "gitlabhq/gitlab-test", fork: true}},
		{name: "branch deleted", event: "Push Hook", body: forgetest.Rewrite(t, push, func(d map[string]any) {
			d["after"], d["checkout_sha"] = forge.ZeroSHA, nil
		}), want: want{kind: forge.KindBranchDeleted, ref: "refs/heads/master", actor: "jsmith", repo: "mike/diaspora", private: true}},
		{name: "tag deleted", event: "Tag Push Hook", body: forgetest.Rewrite(t, tag, func(d map[string]any) {
			d["before"], d["after"], d["checkout_sha"] = d["after"], forge.ZeroSHA, nil
		}), want: want{kind: forge.KindTagDeleted, ref: "refs/tags/v1.0.0", actor: "jsmith", repo: "jsmith/example", private: true}},
		{name: "subgroup project", event: "Push Hook", body: forgetest.Rewrite(t, push, func(d map[string]any) {
			forgetest.Obj(t, d, "project")["path_with_namespace"] = "group/sub/diaspora"
			forgetest.Obj(t, d, "project")["visibility_level"] = 20
		}), want: want{kind: forge.KindPush, ref: "refs/heads/master", sha: mrSHA, actor: "jsmith", repo: "group/sub/diaspora"}},
		{name: "push hook for a tag", event: "Push Hook", body: forgetest.Rewrite(t, push, func(d map[string]any) { d["ref"] = "refs/tags/x" }),
			want: want{err: forge.ErrMalformed}},
		{name: "no event header", event: "", body: push, want: want{err: forge.ErrMalformed}},
		{name: "not JSON", event: "Push Hook", body: []byte("[1,"), want: want{err: forge.ErrMalformed}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := gitlab.Parse(headers(c.event, "uuid-1", "idem-1"), c.body)
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
			if ev.Pull != nil && ev.Pull.Merged != c.merged {
				t.Errorf("merged %v, want %v", ev.Pull.Merged, c.merged)
			}
			if ev.DeliveryID != "idem-1" {
				t.Errorf("delivery %q: Idempotency-Key must win over the event UUID", ev.DeliveryID)
			}
		})
	}
}
