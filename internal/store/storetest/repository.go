package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var repositoryTests = []test{
	{"repository/put and read back by id, path and forge id", func(t *testing.T, s store.Store) {
		c := ctx(t)
		in := store.Repository{Forge: "github", ForgeID: "42", Owner: "Alice", Name: "Pkgs", DefaultBranch: "main", Private: true, InstallationID: 7, CloneURL: "https://example.org/alice/pkgs.git"}
		r, err := s.PutRepository(c, in)
		if err != nil {
			t.Fatal(err)
		}
		if r.ID == 0 || r.Created.IsZero() {
			t.Fatalf("stored repository lacks id or created: %+v", r)
		}
		for name, get := range map[string]func() (store.Repository, error){
			"id":       func() (store.Repository, error) { return s.Repository(c, r.ID) },
			"path":     func() (store.Repository, error) { return s.RepositoryByPath(c, "alice", "PKGS") },
			"forge id": func() (store.Repository, error) { return s.RepositoryByForgeID(c, "github", "42") },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("by %s: %v", name, err)
			}
			if got.ID != r.ID || got.Owner != "Alice" || got.Name != "Pkgs" || !got.Private || got.InstallationID != 7 || got.DefaultBranch != "main" || got.CloneURL != "https://example.org/alice/pkgs.git" || !got.Created.Equal(r.Created) {
				t.Fatalf("by %s: got %+v, want %+v", name, got, r)
			}
		}
	}},
	{"repository/same forge id updates: rename keeps id and created", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "alice", "old")
		r2, err := s.PutRepository(c, store.Repository{Forge: "github", ForgeID: "1", Owner: "alice", Name: "new", DefaultBranch: "trunk"})
		if err != nil {
			t.Fatal(err)
		}
		if r2.ID != r.ID || !r2.Created.Equal(r.Created) || r2.DefaultBranch != "trunk" {
			t.Fatalf("update changed identity: before %+v after %+v", r, r2)
		}
		if _, err := s.RepositoryByPath(c, "alice", "old"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old path still resolves after rename: %v", err)
		}
		// The freed path can be registered by another repository.
		repo(t, s, "github", "2", "alice", "old")
	}},
	{"repository/path of another forge is refused case-insensitively", func(t *testing.T, s store.Store) {
		c := ctx(t)
		repo(t, s, "github", "1", "Alice", "pkgs")
		for _, r := range []store.Repository{
			{Forge: "gitlab", ForgeID: "9", Owner: "alice", Name: "PKGS"},
			{Forge: "github", ForgeID: "2", Owner: "ALICE", Name: "pkgs"},
		} {
			_, err := s.PutRepository(c, r)
			if !errors.Is(err, store.ErrPathTaken) {
				t.Fatalf("PutRepository(%+v) = %v, want ErrPathTaken", r, err)
			}
			if !strings.Contains(err.Error(), "github") {
				t.Fatalf("error does not name the holder's forge: %v", err)
			}
		}
		// Renaming onto a taken path is refused too.
		repo(t, s, "gitlab", "3", "bob", "x")
		if _, err := s.PutRepository(c, store.Repository{Forge: "gitlab", ForgeID: "3", Owner: "alice", Name: "Pkgs"}); !errors.Is(err, store.ErrPathTaken) {
			t.Fatalf("rename onto a taken path = %v, want ErrPathTaken", err)
		}
		if got, err := s.RepositoryByPath(c, "bob", "x"); err != nil || got.ForgeID != "3" {
			t.Fatalf("refused rename changed the repository: %+v, %v", got, err)
		}
	}},
	{"repository/invalid and missing", func(t *testing.T, s store.Store) {
		c := ctx(t)
		if _, err := s.PutRepository(c, store.Repository{Forge: "github", Owner: "a", Name: "b"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("no forge id: %v, want ErrInvalid", err)
		}
		if _, err := s.Repository(c, 999); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Repository(999) = %v", err)
		}
		if _, err := s.RepositoryByPath(c, "no", "such"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RepositoryByPath = %v", err)
		}
		if _, err := s.RepositoryByForgeID(c, "github", "no"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RepositoryByForgeID = %v", err)
		}
		if err := s.SetRepositoryDisabled(c, 999, true); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SetRepositoryDisabled(999) = %v", err)
		}
	}},
	{"repository/one of many concurrent claims of a path wins", func(t *testing.T, s store.Store) {
		c := ctx(t)
		var wg sync.WaitGroup
		var won, taken atomic.Int32
		for i := range 10 {
			wg.Go(func() {
				_, err := s.PutRepository(c, store.Repository{Forge: fmt.Sprint("forge", i), ForgeID: "1", Owner: "Same", Name: "Path"})
				switch {
				case err == nil:
					won.Add(1)
				case errors.Is(err, store.ErrPathTaken):
					taken.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 || taken.Load() != 9 {
			t.Fatalf("%d claims won and %d were refused; want 1 and 9", won.Load(), taken.Load())
		}
	}},
	{"repository/delete removes history and frees the path", func(t *testing.T, s store.Store) {
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		keep := repo(t, s, "github", "2", "a", "c")
		b := build(t, s, r.ID, mainRef, "1")
		j := jobs(t, s, b.ID, "x86_64")[0]
		if _, err := s.UpdateJob(c, j.ID, func(j *store.Job) error { j.Status, j.LogPath = store.StatusSuccess, "l"; return nil }); err != nil {
			t.Fatal(err)
		}
		kb := build(t, s, keep.ID, mainRef, "1")
		if ks, ok := s.(store.KeyStore); ok {
			for _, kind := range []store.KeyKind{store.KeyMain, store.KeyAPKMain} {
				if err := ks.CreateSigningKey(c, store.SigningKey{RepoID: r.ID, Kind: kind, Public: []byte("p"), Secret: []byte("s")}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.DeleteRepository(c, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRepository(c, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete = %v, want ErrNotFound", err)
		}
		for name, err := range map[string]error{
			"repository": func() error { _, err := s.Repository(c, r.ID); return err }(),
			"by path":    func() error { _, err := s.RepositoryByPath(c, "a", "b"); return err }(),
			"build":      func() error { _, err := s.Build(c, b.ID); return err }(),
			"job":        func() error { _, err := s.Job(c, j.ID); return err }(),
			"reuse":      func() error { _, err := s.LatestSuccessfulJob(c, j.ContentKey); return err }(),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s after delete: %v, want ErrNotFound", name, err)
			}
		}
		if ks, ok := s.(store.KeyStore); ok {
			for _, kind := range []store.KeyKind{store.KeyMain, store.KeyAPKMain} {
				if _, err := ks.SigningKey(c, r.ID, kind); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s signing key after delete: %v", kind, err)
				}
			}
		}
		if got, err := s.Build(c, kb.ID); err != nil || got.RepoID != keep.ID {
			t.Fatalf("another repository's build went too: %v", err)
		}
		again := repo(t, s, "gitlab", "9", "A", "B")
		if again.ID == r.ID {
			t.Fatal("a new repository reused the deleted one's id")
		}
		if bs, _ := s.LatestBuilds(c, again.ID); len(bs) != 0 {
			t.Fatalf("the new holder of the path sees old builds: %v", buildIDs(bs))
		}
	}},
	{"repository/list searches, filters and pages", func(t *testing.T, s store.Store) {
		c := ctx(t)
		repo(t, s, "github", "1", "alice", "luci-app")
		repo(t, s, "github", "2", "Bob", "Packages")
		d := repo(t, s, "gitlab", "3", "carol", "luci-theme")
		repo(t, s, "gitlab", "4", "dave", "tools")
		p := repo(t, s, "github", "5", "bob", "secret")
		p.Private = true
		if _, err := s.PutRepository(c, p); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRepositoryDisabled(c, d.ID, true); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Repository(c, d.ID); !got.Disabled {
			t.Fatal("SetRepositoryDisabled did not stick")
		}
		paths := func(q store.RepositoryQuery) string {
			t.Helper()
			rs, err := s.ListRepositories(c, q)
			if err != nil {
				t.Fatal(err)
			}
			var p []string
			for _, r := range rs {
				p = append(p, r.Path())
			}
			return strings.Join(p, " ")
		}
		for _, tc := range []struct {
			q    store.RepositoryQuery
			want string
		}{
			{store.RepositoryQuery{}, "alice/luci-app Bob/Packages bob/secret dave/tools"},
			{store.RepositoryQuery{IncludeDisabled: true}, "alice/luci-app Bob/Packages bob/secret carol/luci-theme dave/tools"},
			{store.RepositoryQuery{Search: "LUCI", IncludeDisabled: true}, "alice/luci-app carol/luci-theme"},
			{store.RepositoryQuery{Search: "b/pack"}, "Bob/Packages"},
			{store.RepositoryQuery{Forge: "gitlab"}, "dave/tools"},
			{store.RepositoryQuery{Limit: 2}, "alice/luci-app Bob/Packages"},
			{store.RepositoryQuery{Limit: 2, After: store.PathKey("Bob", "Packages")}, "bob/secret dave/tools"},
			// The page after Bob/Packages for the public: the private row neither fills the page
			// nor becomes its cursor.
			{store.RepositoryQuery{Limit: 1, After: store.PathKey("Bob", "Packages"), PublicOnly: true}, "dave/tools"},
			{store.RepositoryQuery{Search: "secr", PublicOnly: true}, ""},
			{store.RepositoryQuery{PublicOnly: true}, "alice/luci-app Bob/Packages dave/tools"},
		} {
			if got := paths(tc.q); got != tc.want {
				t.Errorf("ListRepositories(%+v) = %q, want %q", tc.q, got, tc.want)
			}
		}
	}},
}
