package gitlab_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

// Merge request and note hooks are the sender's word (one token for every project): Confirm
// must correct what the API knows better and refuse what it contradicts.
func TestConfirm(t *testing.T) {
	const (
		project, fork = 4242, 4300
		forged        = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
		older         = "1111111111111111111111111111111111111111"
		newer         = "2222222222222222222222222222222222222222"
	)
	noteAt := time.Date(2026, 11, 22, 12, 0, 4, 0, time.UTC)
	mrHook := forgetest.Payload(t, "gitlab/merge_request_update_fork.json")
	noteHook := forgetest.Payload(t, "gitlab/note_merge_request.json")
	attrs := func(f func(a map[string]any)) func(map[string]any) {
		return func(d map[string]any) { f(forgetest.Obj(t, d, "object_attributes")) }
	}
	// setup is GitLab as it really is: !13 of project 4242 comes from the fork 4300, its head
	// is ownForkSHA, and dave (61) wrote note 880011 "/rebuild" at noteAt.
	setup := func(g *forgetest.GitLab) {
		g.SetProject(fork, "carol", "wifi-tools", "https://gitlab.example.com/carol/wifi-tools.git", "public")
		g.SetMergeRequest(project, 13, ownForkSHA, "scan-json", "main", fork)
		g.SetMergeRequestVersions(project, 13, forgetest.MRVersion{SHA: older, At: noteAt.Add(-time.Hour)}, forgetest.MRVersion{SHA: ownForkSHA, At: noteAt.Add(-10 * time.Minute)})
		g.SetMergeRequestNote(project, 13, forgetest.MRNote{ID: 880011, AuthorID: 61, Author: "dave", Body: "The SDK mirror timed out.\n/rebuild", At: noteAt})
	}
	cases := []struct {
		name, event string
		body        []byte
		gitlab      func(*forgetest.GitLab) // changes to setup
		wantErr     bool                    // an *UnconfirmedError
		sha         string
		fork        bool
		actor       string
	}{
		{name: "honest merge request hook", event: "Merge Request Hook", body: mrHook, sha: ownForkSHA, fork: true, actor: "carol"},
		{name: "forged: source project = target", event: "Merge Request Hook",
			body: forgetest.Rewrite(t, mrHook, attrs(func(a map[string]any) { a["source_project_id"] = project })), sha: ownForkSHA, fork: true, actor: "carol"},
		{name: "forged: source project = target and another head", event: "Merge Request Hook",
			body: forgetest.Rewrite(t, mrHook, attrs(func(a map[string]any) {
				a["source_project_id"] = project
				forgetest.Obj(t, a, "last_commit")["id"] = forged
			})), wantErr: true},
		{name: "a head the merge request no longer has", event: "Merge Request Hook", body: mrHook,
			gitlab: func(g *forgetest.GitLab) { g.SetMergeRequest(project, 13, newer, "scan-json", "main", fork) }, wantErr: true},
		{name: "no such merge request", event: "Merge Request Hook",
			body: forgetest.Rewrite(t, mrHook, attrs(func(a map[string]any) { a["iid"] = 99 })), wantErr: true},
		{name: "closed hook for an open merge request", event: "Merge Request Hook",
			body: forgetest.Rewrite(t, mrHook, attrs(func(a map[string]any) { a["action"] = "close" })), wantErr: true},
		{name: "merged", event: "Merge Request Hook",
			body:   forgetest.Rewrite(t, mrHook, attrs(func(a map[string]any) { a["action"] = "merge" })),
			gitlab: func(g *forgetest.GitLab) { g.SetMergeRequestState(project, 13, "merged") }, sha: ownForkSHA, fork: true, actor: "carol"},
		{name: "honest note", event: "Note Hook", body: noteHook, sha: ownForkSHA, fork: true, actor: "dave"},
		{name: "pushed after the note: the head as of the note", event: "Note Hook", body: noteHook,
			gitlab: func(g *forgetest.GitLab) {
				g.SetMergeRequest(project, 13, newer, "scan-json", "main", fork)
				g.SetMergeRequestVersions(project, 13, forgetest.MRVersion{SHA: ownForkSHA, At: noteAt.Add(-time.Hour)}, forgetest.MRVersion{SHA: newer, At: noteAt.Add(time.Minute)})
			}, sha: ownForkSHA, fork: true, actor: "dave"},
		{name: "note hook with a forged head", event: "Note Hook",
			body: forgetest.Rewrite(t, noteHook, func(d map[string]any) { forgetest.Obj(t, d, "merge_request", "last_commit")["id"] = forged }),
			sha:  ownForkSHA, fork: true, actor: "dave"},
		{name: "note hook naming a maintainer who did not write it", event: "Note Hook", body: noteHook,
			gitlab: func(g *forgetest.GitLab) {
				g.SetMergeRequestNote(project, 13, forgetest.MRNote{ID: 880011, AuthorID: 73, Author: "carol", Body: "/rebuild", At: noteAt})
			}, wantErr: true},
		{name: "note that does not exist", event: "Note Hook",
			body: forgetest.Rewrite(t, noteHook, attrs(func(a map[string]any) { a["id"] = 1 })), wantErr: true},
		{name: "note that commands nothing", event: "Note Hook", body: noteHook,
			gitlab: func(g *forgetest.GitLab) {
				g.SetMergeRequestNote(project, 13, forgetest.MRNote{ID: 880011, AuthorID: 61, Author: "dave", Body: "thanks", At: noteAt})
			}, wantErr: true},
		{name: "note older than every version", event: "Note Hook", body: noteHook,
			gitlab: func(g *forgetest.GitLab) {
				g.SetMergeRequestVersions(project, 13, forgetest.MRVersion{SHA: ownForkSHA, At: noteAt.Add(time.Hour)})
			}, wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := gitlab.Parse(headers(c.event, "u", ""), c.body)
			if err != nil {
				t.Fatal(err)
			}
			g := forgetest.NewGitLab(t)
			setup(g)
			if c.gitlab != nil {
				c.gitlab(g)
			}
			got, err := newClient(t, g).Confirm(context.Background(), *ev)
			if c.wantErr {
				if !errors.Is(err, forge.ErrUnconfirmed) {
					t.Fatalf("Confirm = %+v, %v; want an UnconfirmedError", got.Pull, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.SHA != c.sha || got.Pull.HeadSHA != c.sha || got.Pull.FromFork != c.fork || got.Actor.Login != c.actor {
				t.Errorf("confirmed sha %s head %s fork %v actor %s; want %s, fork %v, %s", got.SHA, got.Pull.HeadSHA, got.Pull.FromFork, got.Actor.Login, c.sha, c.fork, c.actor)
			}
			if c.fork && got.Pull.HeadCloneURL != "https://gitlab.example.com/carol/wifi-tools.git" {
				t.Errorf("head clone URL %q: it must be the fork's as GitLab has it", got.Pull.HeadCloneURL)
			}
		})
	}
}

// Events the hooks' token cannot fake beyond what the app checks otherwise pass unchanged,
// without a call.
func TestConfirmLeavesPushes(t *testing.T) {
	ev, err := gitlab.Parse(headers("Push Hook", "u", ""), forgetest.Payload(t, "gitlab/push.json"))
	if err != nil {
		t.Fatal(err)
	}
	g := forgetest.NewGitLab(t)
	got, err := newClient(t, g).Confirm(context.Background(), *ev)
	if err != nil || got.SHA != ev.SHA || len(g.Sequence()) != 0 {
		t.Fatalf("Confirm = %+v, %v; calls %v", got, err, g.Sequence())
	}
}

func TestUnconfirmedErrorSaysWhat(t *testing.T) {
	err := error(&forge.UnconfirmedError{What: "head of !13", Delivered: "a", Forge: "b"})
	if !errors.Is(err, forge.ErrUnconfirmed) || !strings.Contains(err.Error(), `head of !13 is "b" on the forge, the delivery said "a"`) {
		t.Errorf("%v", err)
	}
}
