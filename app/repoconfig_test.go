package app_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestStoredConfigDecidesWhatTheWorkerBuilds: for a repository without .openwrt-ppa.yml, the
// configuration stored for it (a Kubernetes Repository's spec) decides the matrix and, in the
// worker, the packages; a changed configuration builds the same commit again instead of
// reusing what the old one built.
func TestStoredConfigDecidesWhatTheWorkerBuilds(t *testing.T) {
	e := newFakeE2E(t, nil)
	ex := startFakeWorker(t, e)
	ctx := context.Background()
	repo, err := e.rt.Store.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: strconv.Itoa(e2eRepoID),
		Owner: e2eOwner, Name: e2eRepo, DefaultBranch: "main", InstallationID: e2eInstall})
	if err != nil {
		t.Fatal(err)
	}
	configure := func(pkgs ...string) {
		t.Helper()
		if _, err := e.rt.Store.PutRepoConfig(ctx, store.RepoConfig{RepoID: repo.ID, Series: []string{"24.10"},
			Archs: []string{"x86_64"}, Packages: pkgs, SetBy: "kubernetes:ppa/pkgs"}); err != nil {
			t.Fatal(err)
		}
	}
	configure("hello")
	sha := e.git.Commit(t, e2eFull, "main", testenv.PackageTree(map[string]string{"hello": "1.0", "world": "1.0"}))
	if code := e.push("main", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	b, j := e.waitBuild(sha) // exactly one job
	if b.Status != store.StatusSuccess || j.Series != "24.10" || j.Arch != "x86_64" {
		t.Fatalf("build %s, job %s/%s; want one successful 24.10/x86_64 job", b.Status, j.Series, j.Arch)
	}
	if got := ex.Started(); len(got) != 1 || !slices.Equal(got[0].Job.Packages, []string{"hello"}) {
		t.Fatalf("the worker built %v, want [hello] only", packagesOf(got))
	}

	configure("world")
	e.git.Tag(t, e2eFull, "v1", sha)
	if code := e.pushRef("tag", "refs/tags/v1", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("tag push answered %d", code)
	}
	tag := e.waitBuilds(2)[0]
	tj := e.jobs(tag.ID)
	if tag.Ref.Kind != store.RefTag || len(tj) != 1 || tj[0].Status != store.StatusSuccess || strings.Contains(string(tj[0].Result), "reused_from") {
		t.Fatalf("tag build %+v jobs %+v: want one job built anew", tag, tj)
	}
	if got := ex.Started(); len(got) != 2 || !slices.Equal(got[1].Job.Packages, []string{"world"}) {
		t.Fatalf("the worker built %v, want [hello] then [world]", packagesOf(got))
	}
}

func packagesOf(specs []builder.JobSpec) [][]string {
	out := make([][]string, len(specs))
	for i, s := range specs {
		out[i] = s.Job.Packages
	}
	return out
}
