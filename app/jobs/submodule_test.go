package jobs

import (
	"context"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestSubmoduleRepo(t *testing.T) {
	gl := store.Repository{Forge: "gitlab", Owner: "grp/sub", Name: "pkgs", CloneURL: "https://git.example.org/gitlab/grp/sub/pkgs.git"}
	cases := []struct {
		url, owner, name string
	}{
		{"https://git.example.org/gitlab/grp/sub/lib.git", "grp/sub", "lib"},
		{"https://git.example.org/gitlab/other/secret", "other", "secret"},
		{"https://GIT.example.org/gitlab/grp/x.git", "grp", "x"},
		{"https://git.example.org/elsewhere/x.git", "", ""},       // not below the forge's folder
		{"http://git.example.org/gitlab/grp/x.git", "", ""},       // another scheme
		{"https://git.example.org:8443/gitlab/grp/x.git", "", ""}, // another port
		{"https://git.example.org/gitlab/x.git", "", ""},          // no owner
		{"https://git.example.org/gitlab/grp/../x.git", "", ""},
		{"https://git.example.org/gitlab/grp/x.git?ref=1", "", ""},
	}
	for _, c := range cases {
		r, ok := submoduleRepo(gl, c.url)
		if ok != (c.owner != "") || r.Owner != c.owner || r.Name != c.name {
			t.Errorf("%s: %q/%q %v, want %q/%q", c.url, r.Owner, r.Name, ok, c.owner, c.name)
		}
	}
}

// canTrigger records which repository and user it was asked about.
type canTrigger struct {
	*forgetest.Forge
	asked []string
}

func (f *canTrigger) CanTrigger(ctx context.Context, r forge.Repo, u forge.User) (bool, error) {
	f.asked = append(f.asked, u.Login+"@"+r.FullName())
	return f.Forge.CanTrigger(ctx, r, u)
}

func TestSubmoduleAccessAsksTheForgeAboutTheOwner(t *testing.T) {
	gl := &canTrigger{Forge: forgetest.NewForge(forge.GitLab)}
	gh := &canTrigger{Forge: forgetest.NewForge(forge.GitHub)}
	w := &Worker{forges: model.Forges{forge.GitLab: gl, forge.GitHub: gh}}
	glRepo := store.Repository{Forge: "gitlab", Owner: "alice", Name: "pkgs", CloneURL: "https://gl.example/alice/pkgs.git"}
	ghRepo := store.Repository{Forge: "github", Owner: "Alice", Name: "pkgs", CloneURL: "https://github.com/Alice/pkgs.git"}
	cases := []struct {
		name   string
		repo   store.Repository
		url    string
		writer bool
		want   bool
		asked  string
	}{
		{"gitlab: the owner is a member", glRepo, "https://gl.example/bob/lib.git", true, true, "alice@bob/lib"},
		{"gitlab: the owner is not", glRepo, "https://gl.example/bob/secret.git", false, false, "alice@bob/secret"},
		{"gitlab: same namespace is asked too", glRepo, "https://gl.example/alice/lib.git", false, false, "alice@alice/lib"},
		{"github: the owner's own", ghRepo, "https://github.com/alice/lib.git", false, true, ""},
		{"github: another account's", ghRepo, "https://github.com/bob/secret.git", true, false, ""},
		{"another host", glRepo, "https://evil.example/alice/lib.git", true, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gl.asked, gh.asked = nil, nil
			gl.Writers["alice"], gh.Writers["Alice"] = c.writer, c.writer
			ok, err := w.submoduleAccess(withCheckoutRepo(context.Background(), c.repo), c.url)
			if err != nil || ok != c.want {
				t.Fatalf("access %v, %v; want %v", ok, err, c.want)
			}
			asked := append(gl.asked, gh.asked...)
			if c.asked == "" && len(asked) > 0 || c.asked != "" && (len(asked) != 1 || asked[0] != c.asked) {
				t.Fatalf("forge asked %q, want %q", asked, c.asked)
			}
		})
	}
	if ok, _ := w.submoduleAccess(context.Background(), "https://gl.example/alice/lib.git"); ok {
		t.Fatal("a checkout without its repository got access")
	}
}
