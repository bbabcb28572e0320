package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var repoConfigTests = []test{
	{"repoconfig/put, read, replace, delete", func(t *testing.T, s store.Store) {
		c := ctx(t)
		a := repo(t, s, store.ForgeGit, "21", "alice", "pkgs")
		b := repo(t, s, "github", "22", "bob", "feed")
		if _, err := s.RepoConfig(c, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RepoConfig of a repository without one: %v, want ErrNotFound", err)
		}
		in := store.RepoConfig{RepoID: a.ID, Branches: []string{"main", "release/*"}, Series: []string{"24.10"},
			Archs: []string{"x86_64", "mipsel_24kc"}, Packages: []string{"hello"}, SetBy: "kubernetes:ppa/feed"}
		got, err := s.PutRepoConfig(c, in)
		if err != nil || got.Updated.IsZero() {
			t.Fatalf("PutRepoConfig = %+v, %v; want Updated set", got, err)
		}
		if _, err := s.PutRepoConfig(c, store.RepoConfig{RepoID: b.ID, Archs: []string{"aarch64_generic"}}); err != nil {
			t.Fatal(err)
		}
		back, err := s.RepoConfig(c, a.ID)
		if err != nil || !back.SameSettings(in) || back.SetBy != in.SetBy || !back.Updated.Equal(got.Updated) || back.Updated.Location() != time.UTC {
			t.Fatalf("read back %+v, %v; stored %+v", back, err, got)
		}
		// A replacement replaces every field: one left out is gone, not kept.
		if _, err := s.PutRepoConfig(c, store.RepoConfig{RepoID: a.ID, Series: []string{"snapshot"}}); err != nil {
			t.Fatal(err)
		}
		back, _ = s.RepoConfig(c, a.ID)
		if !slices.Equal(back.Series, []string{"snapshot"}) || back.Archs != nil || back.Branches != nil || back.Packages != nil {
			t.Fatalf("after replacing: %+v", back)
		}
		if other, _ := s.RepoConfig(c, b.ID); !slices.Equal(other.Archs, []string{"aarch64_generic"}) {
			t.Fatalf("the other repository's configuration changed: %+v", other)
		}
		if err := s.DeleteRepoConfig(c, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RepoConfig(c, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after delete: %v, want ErrNotFound", err)
		}
		if err := s.DeleteRepoConfig(c, a.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
	}},
	{"repoconfig/refused without a repository, gone with it", func(t *testing.T, s store.Store) {
		c := ctx(t)
		if _, err := s.PutRepoConfig(c, store.RepoConfig{Series: []string{"24.10"}}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("no RepoID: %v, want ErrInvalid", err)
		}
		if _, err := s.PutRepoConfig(c, store.RepoConfig{RepoID: 4242, Series: []string{"24.10"}}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown repository: %v, want ErrNotFound", err)
		}
		r := repo(t, s, store.ForgeGit, "23", "carol", "feed")
		if _, err := s.PutRepoConfig(c, store.RepoConfig{RepoID: r.ID, Series: []string{"24.10"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRepository(c, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RepoConfig(c, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("configuration of a deleted repository: %v, want ErrNotFound", err)
		}
		// The same path registered again starts without the old configuration.
		again := repo(t, s, store.ForgeGit, "23", "carol", "feed")
		if _, err := s.RepoConfig(c, again.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a repository registered again inherited a configuration: %v", err)
		}
	}},
}
