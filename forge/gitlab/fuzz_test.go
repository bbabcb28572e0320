package gitlab_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

// FuzzParsePayload: no body makes the parser panic, and whatever it accepts is an Event the
// service can act on. Seeded from the project's bodies and, when it is there, every payload of
// the real-world corpus; crashers are kept in testdata/fuzz.
func FuzzParsePayload(f *testing.F) {
	for _, c := range ownCases {
		f.Add(forgetest.GitLabEvent(c.file), forgetest.Payload(f, "gitlab/"+c.file))
	}
	if dir, ok := forgetest.SharedTestdataIfPresent("webhooks", "gitlab", "client-go"); ok {
		for _, c := range cases {
			body, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(c.event, body)
		}
	}
	f.Add("Note Hook", []byte(`{"object_kind":"note","object_attributes":{"noteable_type":"MergeRequest","note":"/rebuild"},"merge_request":{"iid":1},"project_id":1}`))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := gitlab.ParsePayload(event, body)
		if err != nil {
			if !errors.Is(err, forge.ErrIgnored) && !errors.Is(err, forge.ErrMalformed) {
				t.Fatalf("error %v is neither ignored nor malformed", err)
			}
			return
		}
		if ev.Forge != forge.GitLab || ev.Kind == "" || ev.Repo.ID == 0 {
			t.Fatalf("event without forge, kind or project: %+v", ev)
		}
		switch ev.Kind {
		case forge.KindPush, forge.KindTag, forge.KindPullOpened, forge.KindPullUpdated,
			forge.KindPullReopened, forge.KindPullClosed:
			if !forge.ValidSHA(ev.SHA) {
				t.Fatalf("%s without a commit: %q", ev.Kind, ev.SHA)
			}
		case forge.KindRebuild, forge.KindRebuildFailed, forge.KindCommentReply:
			if ev.Comment == nil || ev.PullNumber() == 0 {
				t.Fatalf("%s without comment or pull number", ev.Kind)
			}
		}
	})
}
