package builder_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func TestCheckoutFromGitServer(t *testing.T) {
	srv := testenv.StartGitServer(t)
	c1 := srv.Commit(t, "o/r", "main", map[string]string{"hello/Makefile": "one\n"})
	srv.Tag(t, "o/r", "v1", c1)
	co := &builder.Checkouter{CacheDir: t.TempDir()}
	ctx := context.Background()

	read := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "hello", "Makefile"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// Default branch, then the exact commit again: the second needs no fetch.
	d1 := filepath.Join(t.TempDir(), "w")
	res, err := co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r")}, d1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != c1 || !res.Fetched || read(d1) != "one\n" {
		t.Fatalf("first checkout %+v content %q", res, read(d1))
	}
	c2 := srv.Commit(t, "o/r", "main", map[string]string{"hello/Makefile": "two\n"})
	d2 := filepath.Join(t.TempDir(), "w")
	if res, err = co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Commit: c1}, d2); err != nil {
		t.Fatal(err)
	}
	if res.Fetched || read(d2) != "one\n" {
		t.Fatalf("cached checkout %+v content %q", res, read(d2))
	}
	// An unknown commit makes it fetch; a branch always fetches (it may have moved).
	d3 := filepath.Join(t.TempDir(), "w")
	if res, err = co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Commit: c2}, d3); err != nil || !res.Fetched || read(d3) != "two\n" {
		t.Fatalf("checkout of new commit %+v %v", res, err)
	}
	d4 := filepath.Join(t.TempDir(), "w")
	if res, err = co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Ref: "v1"}, d4); err != nil || res.Commit != c1 {
		t.Fatalf("checkout of tag %+v %v", res, err)
	}
	// A commit alone is looked for on every branch and tag, not on the default branch only.
	other := srv.Commit(t, "o/r", "other", map[string]string{"hello/Makefile": "other\n"})
	d6 := filepath.Join(t.TempDir(), "w")
	if res, err = co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Commit: other}, d6); err != nil || res.Commit != other || read(d6) != "other\n" {
		t.Fatalf("checkout of a commit on another branch %+v %v", res, err)
	}
	tagged := srv.Commit(t, "o/r", "release", map[string]string{"hello/Makefile": "tagged\n"})
	srv.Tag(t, "o/r", "v2", tagged)
	testenv.Git(t, filepath.Join(srv.Root, "o/r.git"), "update-ref", "-d", "refs/heads/release")
	d7 := filepath.Join(t.TempDir(), "w")
	if res, err = co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Commit: tagged}, d7); err != nil || res.Commit != tagged || read(d7) != "tagged\n" {
		t.Fatalf("checkout of a commit only a tag names %+v %v", res, err)
	}
	// A pull request's head lives outside refs/heads: it is fetched by its full name.
	pr := srv.Commit(t, "o/r", "feature", map[string]string{"hello/Makefile": "pr\n"})
	testenv.Git(t, filepath.Join(srv.Root, "o/r.git"), "update-ref", "refs/pull/7/head", pr)
	testenv.Git(t, filepath.Join(srv.Root, "o/r.git"), "update-ref", "-d", "refs/heads/feature")
	d5 := filepath.Join(t.TempDir(), "w")
	if res, err = co.Checkout(ctx, builder.CheckoutRequest{URL: srv.RepoURL("o/r"), Ref: "refs/pull/7/head"}, d5); err != nil || res.Commit != pr || read(d5) != "pr\n" {
		t.Fatalf("checkout of a pull request ref %+v %v", res, err)
	}
	for _, bad := range []builder.CheckoutRequest{
		{URL: srv.RepoURL("o/r"), Ref: "nope"},
		{URL: srv.RepoURL("o/r"), Ref: "--upload-pack=x"},
		{URL: srv.RepoURL("o/r"), Commit: "abc"},
		{URL: srv.RepoURL("missing")},
	} {
		if _, err := co.Checkout(ctx, bad, filepath.Join(t.TempDir(), "w")); err == nil {
			t.Errorf("checkout %+v succeeded", bad)
		}
	}
}

func TestCheckoutLocalWithSubmoduleAndSizeCap(t *testing.T) {
	inner, _ := testenv.GitRepo(t, map[string]string{"inner.txt": "inner\n"})
	sub, _ := testenv.GitRepo(t, map[string]string{"lib/Makefile": "sub\n"})
	testenv.Git(t, sub, "-c", "protocol.file.allow=always", "submodule", "add", "-q", inner, "deps/inner")
	testenv.GitCommit(t, sub, nil)
	dir, _ := testenv.GitRepo(t, map[string]string{"README": "top\n"})
	testenv.Git(t, dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", sub, "vendor")
	commit := testenv.GitCommit(t, dir, nil)
	co := &builder.Checkouter{CacheDir: t.TempDir()}
	dest := filepath.Join(t.TempDir(), "w")
	res, err := co.Checkout(context.Background(), builder.CheckoutRequest{URL: dir, Ref: "main"}, dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != commit {
		t.Fatalf("commit %s, want %s", res.Commit, commit)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "vendor", "lib", "Makefile")); err != nil || string(b) != "sub\n" {
		t.Fatalf("submodule file %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "vendor", "deps", "inner", "inner.txt")); err != nil || string(b) != "inner\n" {
		t.Fatalf("nested submodule file %q, %v", b, err)
	}

	big, _ := testenv.GitRepo(t, map[string]string{"blob": strings.Repeat("x", 4096)})
	small := &builder.Checkouter{CacheDir: t.TempDir(), MaxBytes: 1024}
	_, err = small.Checkout(context.Background(), builder.CheckoutRequest{URL: big}, filepath.Join(t.TempDir(), "w"))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("size cap error %v", err)
	}
	// Random content does not compress: the history itself is over four times the cap.
	noise := make([]byte, 8192)
	_, _ = rand.Read(noise)
	huge, _ := testenv.GitRepo(t, map[string]string{"noise": string(noise)})
	_, err = small.Checkout(context.Background(), builder.CheckoutRequest{URL: huge}, filepath.Join(t.TempDir(), "w"))
	if err == nil || !strings.Contains(err.Error(), "history of") {
		t.Fatalf("history cap error %v", err)
	}
}

func TestCheckoutRefusesLocalSubmodulesOfRemoteRepositories(t *testing.T) {
	srv := testenv.StartGitServer(t)
	secret, _ := testenv.GitRepo(t, map[string]string{"key": "host secret\n"})
	dir, _ := testenv.GitRepo(t, map[string]string{"README": "x\n"})
	testenv.Git(t, dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", secret, "vendor")
	testenv.GitCommit(t, dir, nil)
	bare := filepath.Join(srv.Root, "evil.git")
	testenv.Git(t, "", "init", "-q", "--bare", "-b", "main", bare)
	testenv.Git(t, dir, "push", "-q", bare, "HEAD:refs/heads/main")

	co := &builder.Checkouter{CacheDir: t.TempDir()}
	dest := filepath.Join(t.TempDir(), "w")
	_, err := co.Checkout(context.Background(), builder.CheckoutRequest{URL: srv.RepoURL("evil")}, dest)
	if err == nil || !strings.Contains(err.Error(), "is a local path") {
		t.Fatalf("error %v, want the local submodule refused", err)
	}
	if _, err := os.Stat(filepath.Join(dest, "vendor", "key")); err == nil {
		t.Fatal("the host repository was checked out")
	}
}
