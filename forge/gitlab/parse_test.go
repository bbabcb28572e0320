package gitlab_test

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

type want struct {
	kind    forge.Kind
	err     error
	ref     string
	sha     string
	pr      int
	actor   string
	repo    string
	private bool
	fork    bool
	comment int64
}

// One row per file of ../shared/testdata/webhooks/gitlab/client-go, with the X-Gitlab-Event its
// README gives for it. Those bodies are client-go v1.46.0's testdata/webhooks (its README says
// so); the project is on client-go v2, whose event types must still read them as v1 did.
var cases = []struct {
	file, event string
	want        want
}{
	{"build.json", "Job Hook", want{err: forge.ErrIgnored}},
	{"job.json", "Job Hook", want{err: forge.ErrIgnored}},
	{"pipeline.json", "Pipeline Hook", want{err: forge.ErrIgnored}},
	// Its object_attributes keys end in spaces ("iid "): no merge request number survives.
	{"group_merge_request.json", "Merge Request Hook", want{err: forge.ErrMalformed}},
	{"merge_request.json", "Merge Request Hook", want{kind: forge.KindPullOpened, ref: "refs/merge-requests/1/head", sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", pr: 1, actor: "user1", repo: "gitlabhq/gitlab-test"}},
	{"service_merge_request.json", "Merge Request Hook", want{kind: forge.KindPullUpdated, ref: "refs/merge-requests/2/head", sha: "0ab96a10266b95b4b533dcfd98738015fbe70889", pr: 2, actor: "test", repo: "test/woodpecker"}},
	{"note_commit.json", "Note Hook", want{err: forge.ErrIgnored}},
	{"note_issue.json", "Note Hook", want{err: forge.ErrIgnored}},
	{"note_merge_request.json", "Note Hook", want{err: forge.ErrIgnored}}, // "This MR needs work." is no command
	{"push.json", "Push Hook", want{kind: forge.KindPush, ref: "refs/heads/master", sha: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", actor: "jsmith", repo: "mike/diaspora", private: true}},
	{"tag_push.json", "Tag Push Hook", want{kind: forge.KindTag, ref: "refs/tags/v1.0.0", sha: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7", actor: "jsmith", repo: "jsmith/example", private: true}},
}

// The project's own bodies (forge/forgetest/testdata/webhooks/gitlab, written from GitLab's
// documented webhook schemas): one row per file; forgetest.GitLabEvent gives the header.
const (
	ownMain    = "9e8d7c6b5a4f30211203f4e5d6c7b8a9f0e1d2c3"
	ownMR      = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
	ownForkSHA = "cafebabecafebabecafebabecafebabecafebabe"
	ownRepo    = "routers/feeds/wifi-tools"
)

var ownCases = []struct {
	file string
	want want
}{
	{"job.json", want{err: forge.ErrIgnored}},
	{"merge_request_open.json", want{kind: forge.KindPullOpened, ref: "refs/merge-requests/12/head", sha: ownMR, pr: 12, actor: "dave", repo: ownRepo, private: true}},
	{"merge_request_update_fork.json", want{kind: forge.KindPullUpdated, ref: "refs/merge-requests/13/head", sha: ownForkSHA, pr: 13, actor: "carol", repo: ownRepo, private: true, fork: true}},
	{"note_commit.json", want{err: forge.ErrIgnored}},
	{"note_issue.json", want{err: forge.ErrIgnored}},
	{"note_merge_request.json", want{kind: forge.KindRebuild, ref: "refs/merge-requests/13/head", sha: ownForkSHA, pr: 13, actor: "dave", repo: ownRepo, private: true, fork: true, comment: 880011}},
	{"pipeline.json", want{err: forge.ErrIgnored}},
	{"push.json", want{kind: forge.KindPush, ref: "refs/heads/main", sha: ownMain, actor: "dave", repo: ownRepo, private: true}},
	{"push_public.json", want{kind: forge.KindPush, ref: "refs/heads/main", sha: ownMain, actor: "dave", repo: "routers/luci-theme-night"}},
	// An annotated tag: "after" is the tag object, checkout_sha the commit to build.
	{"tag_push.json", want{kind: forge.KindTag, ref: "refs/tags/v2.0.1", sha: ownMain, actor: "dave", repo: ownRepo, private: true}},
}

func TestParseOwnPayloads(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range ownCases {
		seen["gitlab/"+c.file] = true
		t.Run(c.file, func(t *testing.T) {
			parseAndCheck(t, "own/"+c.file, forgetest.GitLabEvent(c.file), forgetest.Payload(t, "gitlab/"+c.file), c.want)
		})
	}
	for _, f := range forgetest.Payloads(t, "gitlab") {
		if !seen[f] {
			t.Errorf("no test row for %s", f)
		}
	}
}

func TestParseFixtures(t *testing.T) {
	dir := forgetest.SharedTestdata(t, "webhooks", "gitlab", "client-go")
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.file] = true
		t.Run(c.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := forgetest.GitLabEvent(c.file); got != c.event {
				t.Errorf("forgetest.GitLabEvent(%s) = %q, the corpus README says %q", c.file, got, c.event)
			}
			parseAndCheck(t, c.file, c.event, body, c.want)
		})
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("no test row for %s", filepath.Base(f))
		}
	}
}

// parseAndCheck parses one delivery, compares it with its golden file and the expectations.
func parseAndCheck(t *testing.T, golden, event string, body []byte, w want) {
	t.Helper()
	ev, err := gitlab.Parse(headers(event, "uuid-"+golden, ""), body)
	if !forgetest.Parsed(t, golden, ev, err, w.err, *update) {
		return
	}
	checkEvent(t, ev, w)
	if ev.DeliveryID != "uuid-"+golden || ev.Forge != forge.GitLab {
		t.Errorf("delivery %q forge %q", ev.DeliveryID, ev.Forge)
	}
}

func headers(event, uuid, idem string) http.Header {
	h := http.Header{}
	h.Set(gitlab.HeaderEvent, event)
	if uuid != "" {
		h.Set(gitlab.HeaderEventUUID, uuid)
	}
	if idem != "" {
		h.Set(gitlab.HeaderIdempotency, idem)
	}
	return h
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
	if ev.Repo.FullName() != w.repo {
		t.Errorf("repo %q, want %q", ev.Repo.FullName(), w.repo)
	}
	if ev.Repo.Private != w.private {
		t.Errorf("private %v, want %v", ev.Repo.Private, w.private)
	}
	if ev.Pull != nil && ev.Pull.FromFork != w.fork {
		t.Errorf("fork %v, want %v", ev.Pull.FromFork, w.fork)
	}
	if w.comment != 0 && (ev.Comment == nil || ev.Comment.ID != w.comment) {
		t.Errorf("comment %+v, want id %d", ev.Comment, w.comment)
	}
}
