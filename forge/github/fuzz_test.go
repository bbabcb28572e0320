package github_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
)

// FuzzParsePayload: no body makes the parser panic, and whatever it accepts is an Event the
// service can act on. Seeded from the project's bodies and, when it is there, every payload of
// the real-world corpus; crashers are kept in testdata/fuzz.
func FuzzParsePayload(f *testing.F) {
	for _, c := range ownCases {
		event, _, _ := strings.Cut(c.file, "/")
		f.Add(event, forgetest.Payload(f, "github/"+c.file))
	}
	if dir, ok := forgetest.SharedTestdataIfPresent("webhooks", "github"); ok {
		for _, c := range cases {
			body, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(c.event, body)
		}
	}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := github.ParsePayload(event, body)
		if err != nil {
			if !errors.Is(err, forge.ErrIgnored) && !errors.Is(err, forge.ErrMalformed) {
				t.Fatalf("error %v is neither ignored nor malformed", err)
			}
			return
		}
		checkInvariants(t, ev)
	})
}

func checkInvariants(t *testing.T, ev *forge.Event) {
	t.Helper()
	if ev.Forge != forge.GitHub || ev.Kind == "" {
		t.Fatalf("event without forge or kind: %+v", ev)
	}
	switch ev.Kind {
	case forge.KindPush, forge.KindTag, forge.KindPullOpened, forge.KindPullUpdated,
		forge.KindPullReopened, forge.KindPullClosed, forge.KindCheckRerun:
		if !forge.ValidSHA(ev.SHA) {
			t.Fatalf("%s without a commit: %q", ev.Kind, ev.SHA)
		}
	case forge.KindRebuild, forge.KindRebuildFailed, forge.KindCommentReply:
		if ev.Comment == nil || ev.PullNumber() == 0 {
			t.Fatalf("%s without comment or pull number", ev.Kind)
		}
	}
	if ev.Kind == forge.KindPush && ev.Branch() == "" || ev.Kind == forge.KindTag && ev.Tag() == "" {
		t.Fatalf("%s of %q", ev.Kind, ev.Ref)
	}
}
