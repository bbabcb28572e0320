package forge_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

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
		SentAt:       time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC),
		BodySHA256:   "ab",
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

func TestOlderThan(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	const window = 30 * 24 * time.Hour
	cases := []struct {
		name string
		sent time.Time
		want bool
	}{
		{"no time in the payload", time.Time{}, false},
		{"just now", now.Add(-time.Minute), false},
		{"at the window's edge", now.Add(-window), false},
		{"past the window", now.Add(-window - time.Second), true},
		{"a year old", now.AddDate(-1, 0, 0), true},
		{"clock skew ahead", now.Add(time.Hour), false},
	}
	for _, c := range cases {
		ev := &forge.Event{SentAt: c.sent}
		if got := ev.OlderThan(now, window); got != c.want {
			t.Errorf("%s: OlderThan = %v, want %v", c.name, got, c.want)
		}
	}
}
