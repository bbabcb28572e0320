package kubeapi

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// TestSpecConfigIsStored: a Repository's branches, series, archs and packages are stored for
// its repository once (reconciling again writes nothing), follow a changed spec, go when the
// spec drops them and when the Repository is deleted.
func TestSpecConfigIsStored(t *testing.T) {
	obj := gitRepo("feed")
	obj.Spec.Series, obj.Spec.Archs = []string{"24.10"}, []string{"x86_64"}
	e := newEnv(t, obj)
	ctx := context.Background()
	e.repo("feed")
	id, ok := repoID(e.getRepo("feed"))
	if !ok {
		t.Fatal("not registered")
	}
	// With the registration, not after it: the first poll builds at once.
	if len(e.b.configs) != 1 || !slices.Equal(e.b.configs[0].Series, []string{"24.10"}) {
		t.Fatalf("registered with %+v, want the spec's configuration", e.b.configs)
	}
	got, err := e.st.RepoConfig(ctx, id)
	if err != nil || !slices.Equal(got.Series, []string{"24.10"}) || !slices.Equal(got.Archs, []string{"x86_64"}) ||
		got.Packages != nil || got.SetBy != "kubernetes:ppa/feed" {
		t.Fatalf("stored %+v, %v", got, err)
	}
	e.repo("feed")
	if again, _ := e.st.RepoConfig(ctx, id); !again.Updated.Equal(got.Updated) {
		t.Errorf("an unchanged spec was written again (%v, then %v)", got.Updated, again.Updated)
	}

	change := func(f func(*v1.RepositorySpec)) {
		t.Helper()
		o := e.getRepo("feed")
		f(&o.Spec)
		o.Generation++
		if err := e.c.Update(ctx, o); err != nil {
			t.Fatal(err)
		}
		e.repo("feed")
	}
	change(func(s *v1.RepositorySpec) { s.Packages = []string{"hello"} })
	if got, _ := e.st.RepoConfig(ctx, id); !slices.Equal(got.Packages, []string{"hello"}) || !slices.Equal(got.Series, []string{"24.10"}) {
		t.Fatalf("after adding packages: %+v", got)
	}
	change(func(s *v1.RepositorySpec) { s.Series, s.Archs, s.Packages = nil, nil, nil })
	if got, err := e.st.RepoConfig(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a spec without the fields left %+v, %v", got, err)
	}
	change(func(s *v1.RepositorySpec) { s.Archs = []string{"mips_24kc"} })
	if err := e.c.Delete(ctx, e.getRepo("feed")); err != nil {
		t.Fatal(err)
	}
	e.repo("feed")
	if got, err := e.st.RepoConfig(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted Repository's configuration stayed: %+v, %v", got, err)
	}
}

// TestSpecConfigOfAnotherObjectIsKept: two Repository objects naming one forge repository do not
// take turns at its configuration: the second is refused, saying who set it, until the first
// goes; one without the fields binds beside it.
func TestSpecConfigOfAnotherObjectIsKept(t *testing.T) {
	first, second, plain := forgeRepo("first", "alice/pkgs"), forgeRepo("second", "alice/pkgs"), forgeRepo("plain", "alice/pkgs")
	first.Spec.Series = []string{"24.10"}
	second.Spec.Series = []string{"snapshot"}
	e := newEnv(t, first, second, plain)
	ctx := context.Background()
	repo := e.forgeRepository(t, "github", "alice", "pkgs")
	e.repo("first")
	e.repo("second")
	e.repo("plain")
	if got, _ := e.st.RepoConfig(ctx, repo.ID); !slices.Equal(got.Series, []string{"24.10"}) || got.SetBy != "kubernetes:ppa/first" {
		t.Fatalf("stored %+v, want the first object's", got)
	}
	c := meta.FindStatusCondition(e.getRepo("second").Status.Conditions, CondReady)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != "Refused" || !strings.Contains(c.Message, "kubernetes:ppa/first") {
		t.Fatalf("the second object's Ready: %+v", c)
	}
	if c := meta.FindStatusCondition(e.getRepo("plain").Status.Conditions, CondReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("an object without the fields: Ready %+v", c)
	}
	if err := e.c.Delete(ctx, e.getRepo("second")); err != nil {
		t.Fatal(err)
	}
	e.repo("second")
	if got, _ := e.st.RepoConfig(ctx, repo.ID); got.SetBy != "kubernetes:ppa/first" {
		t.Fatalf("deleting the refused object removed the first's configuration: %+v", got)
	}
	if err := e.c.Delete(ctx, e.getRepo("first")); err != nil {
		t.Fatal(err)
	}
	e.repo("first")
	if _, err := e.st.RepoConfig(ctx, repo.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the first object deleted, its configuration stayed: %v", err)
	}
}
