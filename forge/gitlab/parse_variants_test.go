package gitlab_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

// variantBase is a set of bodies the variants rewrite, and what those bodies say.
type variantBase struct {
	note, mr, push, tag        []byte
	noteWant, mrWant, pushWant want // kinds are set per row
	tagWant                    want
}

// ownBase: the project's bodies (forge/forgetest/testdata/webhooks/gitlab).
func ownBase(t *testing.T) variantBase {
	return variantBase{
		note:     forgetest.Payload(t, "gitlab/note_merge_request.json"),
		mr:       forgetest.Payload(t, "gitlab/merge_request_open.json"),
		push:     forgetest.Payload(t, "gitlab/push.json"),
		tag:      forgetest.Payload(t, "gitlab/tag_push.json"),
		noteWant: want{ref: "refs/merge-requests/13/head", sha: ownForkSHA, pr: 13, actor: "dave", repo: ownRepo, private: true, fork: true, comment: 880011},
		mrWant:   want{ref: "refs/merge-requests/12/head", sha: ownMR, pr: 12, actor: "dave", repo: ownRepo, private: true},
		pushWant: want{ref: "refs/heads/main", sha: ownMain, actor: "dave", repo: ownRepo, private: true},
		tagWant:  want{ref: "refs/tags/v2.0.1", actor: "dave", repo: ownRepo, private: true},
	}
}

// sharedBase: the real-world corpus (../shared/testdata/webhooks/gitlab/client-go).
func sharedBase(t *testing.T) variantBase {
	dir := forgetest.SharedTestdata(t, "webhooks", "gitlab", "client-go")
	const (
		noteSHA = "562e173be03b8ff2efb05345d12df18815438a4b"
		mrSHA   = "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"
	)
	return variantBase{
		note:     forgetest.ReadFile(t, filepath.Join(dir, "note_merge_request.json")),
		mr:       forgetest.ReadFile(t, filepath.Join(dir, "merge_request.json")),
		push:     forgetest.ReadFile(t, filepath.Join(dir, "push.json")),
		tag:      forgetest.ReadFile(t, filepath.Join(dir, "tag_push.json")),
		noteWant: want{ref: "refs/merge-requests/1/head", sha: noteSHA, pr: 1, actor: "root", repo: "gitlab-org/gitlab-test", private: true, comment: 1244},
		mrWant:   want{ref: "refs/merge-requests/1/head", sha: mrSHA, pr: 1, actor: "user1", repo: "gitlabhq/gitlab-test"},
		pushWant: want{ref: "refs/heads/master", sha: mrSHA, actor: "jsmith", repo: "mike/diaspora", private: true},
		tagWant:  want{ref: "refs/tags/v1.0.0", actor: "jsmith", repo: "jsmith/example", private: true},
	}
}

// Variants of the bodies for what the files do not show.
func TestParseVariants(t *testing.T) {
	t.Run("own", func(t *testing.T) { parseVariants(t, ownBase(t)) })
	t.Run("shared", func(t *testing.T) { parseVariants(t, sharedBase(t)) })
}

func parseVariants(t *testing.T, b variantBase) {
	note, mr, push, tag := b.note, b.mr, b.push, b.tag
	with := func(w want, f func(*want)) want { f(&w); return w }
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
	cases := []struct {
		name, event string
		body        []byte
		want        want
		merged      bool
	}{
		{name: "rebuild note", event: "Note Hook", body: forgetest.Rewrite(t, note, noteSays("/rebuild")),
			want: with(b.noteWant, func(w *want) { w.kind = forge.KindRebuild })},
		{name: "rebuild failed note", event: "Note Hook", body: forgetest.Rewrite(t, note, noteSays("I think\n/REBUILD failed")),
			want: with(b.noteWant, func(w *want) { w.kind = forge.KindRebuildFailed })},
		{name: "help note", event: "Note Hook", body: forgetest.Rewrite(t, note, noteSays("/rebuild help")),
			want: with(b.noteWant, func(w *want) { w.kind = forge.KindCommentReply })},
		{name: "system note", event: "Note Hook", body: forgetest.Rewrite(t, note, func(d map[string]any) {
			noteSays("/rebuild")(d)
			forgetest.Obj(t, d, "object_attributes")["system"] = true
		}), want: want{err: forge.ErrIgnored}},
		{name: "reopened", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("reopen", nil)),
			want: with(b.mrWant, func(w *want) { w.kind = forge.KindPullReopened })},
		{name: "new commits", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("update", "95790bf891e76fee5e1747ab589903a6a1f80f22")),
			want: with(b.mrWant, func(w *want) { w.kind = forge.KindPullUpdated })},
		{name: "title edited", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("update", nil)),
			want: want{err: forge.ErrIgnored}},
		{name: "closed", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("close", nil)),
			want: with(b.mrWant, func(w *want) { w.kind = forge.KindPullClosed })},
		{name: "merged", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("merge", nil)), merged: true,
			want: with(b.mrWant, func(w *want) { w.kind = forge.KindPullClosed })},
		{name: "approved", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, mrAction("approved", nil)),
			want: want{err: forge.ErrIgnored}},
		{name: "from a fork", event: "Merge Request Hook", body: forgetest.Rewrite(t, mr, func(d map[string]any) {
			forgetest.Obj(t, d, "object_attributes")["source_project_id"] = 99
		}), want: with(b.mrWant, func(w *want) { w.kind, w.fork = forge.KindPullOpened, true })},
		{name: "branch deleted", event: "Push Hook", body: forgetest.Rewrite(t, push, func(d map[string]any) {
			d["after"], d["checkout_sha"] = forge.ZeroSHA, nil
		}), want: with(b.pushWant, func(w *want) { w.kind, w.sha = forge.KindBranchDeleted, "" })},
		{name: "tag deleted", event: "Tag Push Hook", body: forgetest.Rewrite(t, tag, func(d map[string]any) {
			d["before"], d["after"], d["checkout_sha"] = d["after"], forge.ZeroSHA, nil
		}), want: with(b.tagWant, func(w *want) { w.kind = forge.KindTagDeleted })},
		{name: "subgroup project", event: "Push Hook", body: forgetest.Rewrite(t, push, func(d map[string]any) {
			forgetest.Obj(t, d, "project")["path_with_namespace"] = "group/sub/diaspora"
			forgetest.Obj(t, d, "project")["visibility_level"] = 20
		}), want: with(b.pushWant, func(w *want) { w.kind, w.repo, w.private = forge.KindPush, "group/sub/diaspora", false })},
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

// The time a merge request or note hook says it was sent, in each spelling GitLab uses; one
// it spells otherwise leaves SentAt zero and still parses.
func TestParseSentAt(t *testing.T) {
	mr := forgetest.Payload(t, "gitlab/merge_request_open.json")
	note := forgetest.Payload(t, "gitlab/note_merge_request.json")
	at := func(key, v string) func(map[string]any) {
		return func(d map[string]any) { forgetest.Obj(t, d, "object_attributes")[key] = v }
	}
	cases := []struct {
		name, event string
		body        []byte
		want        string
	}{
		{"merge request, UTC spelling", "Merge Request Hook", forgetest.Rewrite(t, mr, at("updated_at", "2026-11-21 08:00:00 UTC")), "2026-11-21T08:00:00Z"},
		{"merge request, RFC 3339", "Merge Request Hook", forgetest.Rewrite(t, mr, at("updated_at", "2026-11-21T10:00:00+02:00")), "2026-11-21T08:00:00Z"},
		{"merge request, offset spelling", "Merge Request Hook", forgetest.Rewrite(t, mr, at("updated_at", "2026-11-21 09:00:00 +0100")), "2026-11-21T08:00:00Z"},
		{"merge request, unknown spelling", "Merge Request Hook", forgetest.Rewrite(t, mr, at("updated_at", "last Tuesday")), ""},
		{"note", "Note Hook", forgetest.Rewrite(t, note, at("created_at", "2026-11-22 12:00:04 UTC")), "2026-11-22T12:00:04Z"},
		{"push carries none", "Push Hook", forgetest.Payload(t, "gitlab/push.json"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := gitlab.Parse(headers(c.event, "u", ""), c.body)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if !ev.SentAt.IsZero() {
				got = ev.SentAt.Format(time.RFC3339)
			}
			if got != c.want {
				t.Errorf("SentAt %q, want %q", got, c.want)
			}
		})
	}
}
