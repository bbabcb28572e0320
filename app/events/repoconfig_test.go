package events

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// TestStoredConfigStandsInForAMissingFile: a configuration stored for the repository (a
// Kubernetes Repository's spec) decides the matrix and the branches of a commit without
// .openwrt-ppa.yml; a commit with the file (even an empty one) builds what the file says.
func TestStoredConfigStandsInForAMissingFile(t *testing.T) {
	defaults := []string{"25.12/aarch64_cortex-a53", "25.12/arm_cortex-a7_neon-vfpv4", "25.12/mips_24kc", "25.12/mipsel_24kc", "25.12/x86_64"}
	cases := []struct {
		name   string
		stored *store.RepoConfig // nil: none
		file   *string           // nil: no file
		branch string
		want   []string // the cells built; nil: nothing built
	}{
		{"stored, no file", &store.RepoConfig{Series: []string{"24.10"}, Archs: []string{"x86_64"}}, nil, "main", []string{"24.10/x86_64"}},
		{"stored, the file wins", &store.RepoConfig{Series: []string{"24.10"}, Archs: []string{"x86_64"}},
			ptr("series: [\"25.12\"]\narchs: [mips_24kc]\n"), "main", []string{"25.12/mips_24kc"}},
		{"stored, an empty file wins", &store.RepoConfig{Series: []string{"24.10"}, Archs: []string{"x86_64"}}, ptr(""), "main", defaults},
		{"stored series only, default archs", &store.RepoConfig{Series: []string{"24.10"}}, nil, "main",
			[]string{"24.10/aarch64_cortex-a53", "24.10/arm_cortex-a7_neon-vfpv4", "24.10/mips_24kc", "24.10/mipsel_24kc", "24.10/x86_64"}},
		{"stored branches build a branch", &store.RepoConfig{Branches: []string{"release/*"}, Archs: []string{"x86_64"}}, nil, "release/1", []string{"25.12/x86_64"}},
		{"stored branches, the file's default branch wins", &store.RepoConfig{Branches: []string{"release/*"}}, ptr("archs: [x86_64]\n"), "release/1", nil},
		{"nothing stored, no file", nil, nil, "main", defaults},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			if tc.stored != nil {
				repo, err := h.svc.store.PutRepository(ctx, store.Repository{Forge: string(forge.GitHub), ForgeID: strconv.FormatInt(testRepo.ID, 10),
					Owner: testRepo.Owner, Name: testRepo.Name, DefaultBranch: "main", CloneURL: testRepo.CloneURL})
				if err != nil {
					t.Fatal(err)
				}
				c := *tc.stored
				c.RepoID, c.SetBy = repo.ID, "kubernetes:ppa/pkgs"
				if _, err := h.svc.store.PutRepoConfig(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			if tc.file != nil {
				h.forge.Files[sha1+":.openwrt-ppa.yml"] = []byte(*tc.file)
			}
			h.deliver(t, push("d1", tc.branch, sha1))
			var got []string
			for _, b := range h.builds(t) {
				for _, j := range h.jobs(t, b.ID) {
					got = append(got, j.Series+"/"+j.Arch)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("built %v, want %v", got, tc.want)
			}
		})
	}
}

// TestStoredConfigMistakeNamesItsSource: a stored value the builder refuses fails the check
// with a message naming who set it, not a file the repository does not have.
func TestStoredConfigMistakeNamesItsSource(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	repo, err := h.svc.store.PutRepository(ctx, store.Repository{Forge: string(forge.GitHub), ForgeID: strconv.FormatInt(testRepo.ID, 10),
		Owner: testRepo.Owner, Name: testRepo.Name, DefaultBranch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.store.PutRepoConfig(ctx, store.RepoConfig{RepoID: repo.ID, Series: []string{"24.1"}, SetBy: "kubernetes:ppa/pkgs"}); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, push("d1", "main", sha1))
	checks, _, _ := h.forge.Snapshot()
	if len(checks) != 1 || checks[0].State != forge.CheckFailure || !strings.Contains(checks[0].Summary, "kubernetes:ppa/pkgs") ||
		!strings.Contains(checks[0].Summary, `"24.1"`) {
		t.Fatalf("checks %+v", checks)
	}
}

func ptr(s string) *string { return &s }
