package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var remoteTests = []test{
	{"remote/put, read, list, update, delete", func(t *testing.T, s store.Store) {
		c := ctx(t)
		a := repo(t, s, store.ForgeGit, "11", "alice", "pkgs")
		b := repo(t, s, store.ForgeGit, "12", "bob", "feed")
		in := store.Remote{RepoID: b.ID, URL: "ssh://git@example.org/bob/feed.git", AddedBy: "github:bob",
			WebhookSecret: "s3cret", DeployKey: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n…"), HostKey: "ssh-ed25519 AAAA"}
		got, err := s.PutRemote(c, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.Created.IsZero() {
			t.Fatal("Created not set")
		}
		if _, err := s.PutRemote(c, store.Remote{RepoID: a.ID, URL: "https://example.org/alice/pkgs.git"}); err != nil {
			t.Fatal(err)
		}
		back, err := s.Remote(c, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if back.URL != in.URL || back.WebhookSecret != "s3cret" || string(back.DeployKey) != string(in.DeployKey) || back.HostKey != in.HostKey || back.AddedBy != in.AddedBy {
			t.Fatalf("read back %+v, stored %+v", back, in)
		}
		all, err := s.ListRemotes(c)
		if err != nil || len(all) != 2 || all[0].RepoID != a.ID || all[1].RepoID != b.ID || all[1].WebhookSecret != "s3cret" {
			t.Fatalf("ListRemotes = %+v, %v", all, err)
		}
		next := time.Now().Add(time.Minute).UTC().Truncate(time.Millisecond)
		up, err := s.UpdateRemote(c, b.ID, func(r *store.Remote) error {
			r.Refs = map[string]string{"refs/heads/main": "abc"}
			r.NextPoll, r.Failures, r.LastError = next, 2, "timeout"
			r.RepoID, r.Created = 999, time.Time{}
			return nil
		})
		if err != nil || up.RepoID != b.ID || up.Created.IsZero() {
			t.Fatalf("UpdateRemote = %+v, %v", up, err)
		}
		back, _ = s.Remote(c, b.ID)
		if back.Refs["refs/heads/main"] != "abc" || !back.NextPoll.Equal(next) || back.Failures != 2 || back.WebhookSecret != "s3cret" {
			t.Fatalf("after update: %+v", back)
		}
		stop := errors.New("no")
		if _, err := s.UpdateRemote(c, b.ID, func(*store.Remote) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("UpdateRemote's fn error: %v", err)
		}
		if err := s.DeleteRemote(c, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Remote(c, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Remote after delete: %v", err)
		}
		if err := s.DeleteRemote(c, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteRemote twice: %v", err)
		}
		if err := s.DeleteRepository(c, b.ID); err != nil {
			t.Fatal(err)
		}
		if all, _ := s.ListRemotes(c); len(all) != 0 {
			t.Fatalf("the remote outlived its repository: %+v", all)
		}
	}},
	{"remote/refused", func(t *testing.T, s store.Store) {
		c := ctx(t)
		a := repo(t, s, store.ForgeGit, "11", "alice", "pkgs")
		if _, err := s.PutRemote(c, store.Remote{RepoID: a.ID, URL: "file:///x"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("file:// remote: %v", err)
		}
		if _, err := s.PutRemote(c, store.Remote{RepoID: 4242, URL: "https://example.org/a/b"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("remote of no repository: %v", err)
		}
		if _, err := s.Remote(c, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Remote of a repository without one: %v", err)
		}
		if _, err := s.UpdateRemote(c, a.ID, func(*store.Remote) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateRemote of none: %v", err)
		}
	}},
}
