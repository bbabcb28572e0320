package forge_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// The app stores events as JSON and handles them later: nothing may be lost on the way.
func TestEventJSONRoundTrip(t *testing.T) {
	ev := &forge.Event{
		Forge: forge.GitLab, DeliveryID: "k1", Kind: forge.KindRebuildFailed,
		Repo: forge.Repo{Forge: forge.GitLab, ID: 5, Owner: "group/sub", Name: "pkgs", CloneURL: "https://x/g.git",
			WebURL: "https://x/g", DefaultBranch: "main", Private: true, Installation: 0},
		Ref: "refs/merge-requests/1/head", SHA: "562e173be03b8ff2efb05345d12df18815438a4b", Before: "b",
		Actor:        forge.User{ID: 1, Login: "root"},
		Pull:         &forge.Pull{Number: 1, BaseRef: "main", HeadRef: "f", HeadSHA: "s", FromFork: true, HeadCloneURL: "u", Merged: false},
		Comment:      &forge.CommentRef{ID: 1244, PullNumber: 1},
		Command:      &forge.Command{Name: "rebuild", FailedOnly: true},
		Reply:        "r",
		Check:        &forge.CheckRef{ID: 1, SuiteID: 2, Name: "n", ExternalID: "e"},
		Installation: 7,
		Repos:        []forge.Repo{{Owner: "o", Name: "n"}},
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back forge.Event
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev, &back) {
		t.Errorf("round trip changed the event:\n%+v\n%+v", ev, &back)
	}
}

func TestRefNames(t *testing.T) {
	ev := forge.Event{Ref: "refs/heads/release/24.10"}
	if ev.Branch() != "release/24.10" || ev.Tag() != "" {
		t.Errorf("branch %q tag %q", ev.Branch(), ev.Tag())
	}
	ev.Ref = "refs/tags/v1.0"
	if ev.Branch() != "" || ev.Tag() != "v1.0" {
		t.Errorf("branch %q tag %q", ev.Branch(), ev.Tag())
	}
	if (*forge.Event)(nil).PullNumber() != 0 {
		t.Error("nil event has a pull number")
	}
}
