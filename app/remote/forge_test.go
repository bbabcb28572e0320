package remote

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestReadFileAtCommitsOffTheDefaultBranch: the configuration of a push to another branch, or
// of a tag whose commit no branch holds, is read at that commit, not refused for not being on
// the default branch. Each commit's file differs, so a read of the wrong commit shows.
func TestReadFileAtCommitsOffTheDefaultBranch(t *testing.T) {
	ctx := context.Background()
	gs := testenv.StartGitServerTLS(t)
	const file = ".openwrt-ppa.yml"
	onMain := gs.Commit(t, "alice/pkgs", "main", map[string]string{file: "series: [\"24.10\"]\n"})
	next := gs.Commit(t, "alice/pkgs", "next", map[string]string{file: "series: [\"25.12\"]\n"})
	tagged := gs.Commit(t, "alice/pkgs", "release", map[string]string{file: "series: [\"23.05\"]\n"})
	gs.Tag(t, "alice/pkgs", "v1", tagged)
	testenv.Git(t, filepath.Join(gs.Root, "alice/pkgs.git"), "update-ref", "-d", "refs/heads/release")
	noFile := gs.Commit(t, "alice/pkgs", "bare", map[string]string{"Makefile": "x\n"})

	r, err := New(Config{Policy: giturl.Policy{AllowPrivate: true}, TLS: gs.TLS, BaseURL: "https://ppa.example"},
		Deps{Store: openStore(t), Inbox: &nopInbox{}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Add(ctx, AddRequest{URL: gs.RepoURL("alice/pkgs"), AddedBy: "github:alice"})
	if err != nil {
		t.Fatal(err)
	}
	f, repo := r.Forge(), forgeRepo(a.Repo, "")
	for _, c := range []struct {
		name, sha, want string
		found           bool
	}{
		{"default branch", onMain, "series: [\"24.10\"]\n", true},
		{"another branch", next, "series: [\"25.12\"]\n", true},
		{"a tag only", tagged, "series: [\"23.05\"]\n", true},
		{"no config file", noFile, "", false},
		{"the default branch again, from the cache", onMain, "series: [\"24.10\"]\n", true},
	} {
		data, found, err := f.ReadFile(ctx, repo, c.sha, file)
		if err != nil || found != c.found || string(data) != c.want {
			t.Errorf("%s: ReadFile(%s) = %q, %v, %v; want %q, %v", c.name, c.sha, data, found, err, c.want, c.found)
		}
	}
	if _, _, err := f.ReadFile(ctx, repo, "0123456789012345678901234567890123456789", file); err == nil {
		t.Errorf("ReadFile of a commit the repository does not have succeeded")
	}
}
