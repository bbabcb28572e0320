package gitlab_test

import (
	"errors"
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
			ev, err := gitlab.Parse(headers(c.event, "uuid-"+c.file, ""), body)
			forgetest.Golden(t, c.file, ev, err, *update)
			if c.want.err != nil {
				if !errors.Is(err, c.want.err) {
					t.Fatalf("Parse = %+v, %v; want error %v", ev, err, c.want.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkEvent(t, ev, c.want)
			if ev.DeliveryID != "uuid-"+c.file || ev.Forge != forge.GitLab {
				t.Errorf("delivery %q forge %q", ev.DeliveryID, ev.Forge)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("no test row for %s", filepath.Base(f))
		}
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
