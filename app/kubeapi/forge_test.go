package kubeapi

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func forgeRepo(name, fullName string) *v1.Repository {
	return &v1.Repository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Generation: 1},
		Spec: v1.RepositorySpec{Source: v1.RepositorySource{Forge: "github", FullName: fullName}}}
}

// forgeRepository stores a repository as the forge's App registers it.
func (e *env) forgeRepository(t *testing.T, forge, owner, name string) store.Repository {
	t.Helper()
	repo, err := e.st.PutRepository(context.Background(), store.Repository{Forge: forge, ForgeID: "4242", Owner: owner, Name: name,
		DefaultBranch: "main", InstallationID: 7})
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func (e *env) repositories(t *testing.T) []store.Repository {
	t.Helper()
	all, err := e.st.ListRepositories(context.Background(), store.RepositoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestForgeRepositoryIsBound: a Repository naming a repository of a forge the App serves binds
// to the one stored (its id noted, its spec's configuration stored for it), registers nothing
// and makes no new repository; deleted, it leaves the forge's repository as it was. One naming
// a repository the service does not serve, or serves from another forge, is refused saying so.
func TestForgeRepositoryIsBound(t *testing.T) {
	cases := []struct {
		name, forge, fullName string
		bound                 bool
		// served is the forge, owner and name the App serves (nil: github's alice/pkgs).
		served []string
	}{
		{"bound", "github", "alice/pkgs", true, nil},
		{"bound whatever the case", "github", "Alice/PKGS", true, nil},
		{"another forge's", "gitlab", "alice/pkgs", false, nil},
		{"not served", "github", "alice/other", false, nil},
		// A GitLab owner in subgroups is stored with its "/"s, and the store finds a path whole.
		{"gitlab subgroups", "gitlab", "group/sub/name", true, []string{"gitlab", "group/sub", "name"}},
		{"gitlab parent group is another owner", "gitlab", "group/sub/name", false, []string{"gitlab", "group", "sub"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := forgeRepo("feed", tc.fullName)
			obj.Spec.Source.Forge = tc.forge
			obj.Spec.Archs = []string{"x86_64"}
			e := newEnv(t, obj)
			ctx := context.Background()
			if tc.served == nil {
				tc.served = []string{"github", "alice", "pkgs"}
			}
			served := e.forgeRepository(t, tc.served[0], tc.served[1], tc.served[2])
			for range 3 {
				e.repo("feed")
			}
			o := e.getRepo("feed")
			ready := meta.FindStatusCondition(o.Status.Conditions, CondReady)
			if regs := e.b.registrations(); len(regs) != 0 {
				t.Errorf("registered %v: a forge's repository is the forge's to register", regs)
			}
			if all := e.repositories(t); len(all) != 1 || all[0].ID != served.ID {
				t.Fatalf("repositories %+v, want only the forge's", all)
			}
			_, err := e.st.RepoConfig(ctx, served.ID)
			if !tc.bound {
				if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != "Refused" || err == nil {
					t.Fatalf("Ready %+v, stored configuration err %v; want refused, nothing stored", ready, err)
				}
				return
			}
			if ready == nil || ready.Status != metav1.ConditionTrue || o.Annotations[AnnotationRepoID] != strconv.FormatInt(served.ID, 10) ||
				o.Annotations[AnnotationRegistered] != "" || len(o.Status.Feeds) != 1 {
				t.Fatalf("Ready %+v, annotations %v, feeds %v", ready, o.Annotations, o.Status.Feeds)
			}
			if c, err := e.st.RepoConfig(ctx, served.ID); err != nil || !slices.Equal(c.Archs, []string{"x86_64"}) {
				t.Fatalf("stored configuration %+v, %v", c, err)
			}
			if err := e.c.Delete(ctx, o); err != nil {
				t.Fatal(err)
			}
			e.repo("feed")
			if _, ok := e.getRepoIfAny("feed"); ok {
				t.Error("the deleted Repository is still held by its finalizer")
			}
			back, err := e.st.Repository(ctx, served.ID)
			if err != nil || back.Disabled || len(e.b.registrations()) != 0 {
				t.Fatalf("after delete: %+v, %v, registrations %v; want the forge's repository untouched", back, err, e.b.registrations())
			}
		})
	}
}

// TestForgeRepositoryServedLaterGetsReady: a Repository applied before the App serves its
// repository is refused, and becomes Ready by itself once the forge registers the repository:
// the refusal depends on the service's state, so it is looked at again.
func TestForgeRepositoryServedLaterGetsReady(t *testing.T) {
	obj := forgeRepo("early", "alice/pkgs")
	e := newEnv(t, obj)
	res := e.repo("early")
	if ready := meta.FindStatusCondition(e.getRepo("early").Status.Conditions, CondReady); ready == nil || ready.Reason != "Refused" {
		t.Fatalf("Ready %+v before the App serves the repository, want Refused", ready)
	}
	if res.RequeueAfter <= 0 {
		t.Fatalf("a refusal for a repository not served yet is not looked at again (%+v)", res)
	}
	served := e.forgeRepository(t, "github", "alice", "pkgs")
	e.repo("early")
	o := e.getRepo("early")
	if ready := meta.FindStatusCondition(o.Status.Conditions, CondReady); ready == nil || ready.Status != metav1.ConditionTrue ||
		o.Annotations[AnnotationRepoID] != strconv.FormatInt(served.ID, 10) {
		t.Fatalf("Ready %+v, annotations %v once the repository is served", ready, o.Annotations)
	}
}

// TestSourceChangedBeforeItWasImmutable: an object whose source went from a git URL to a forge
// repository (possible before spec.source was immutable) lets go of the URL's registration
// instead of keeping its annotation, and its deletion later unregisters nothing it no longer
// holds.
func TestSourceChangedBeforeItWasImmutable(t *testing.T) {
	e := newEnv(t, gitRepo("feed"))
	ctx := context.Background()
	served := e.forgeRepository(t, "github", "alice", "pkgs")
	e.repo("feed")
	o := e.getRepo("feed")
	old, _ := repoID(o)
	if old == 0 || old == served.ID {
		t.Fatalf("the git URL registered as %d", old)
	}
	o.Spec.Source = v1.RepositorySource{Forge: "github", FullName: "alice/pkgs"}
	o.Generation++
	if err := e.c.Update(ctx, o); err != nil {
		t.Fatal(err)
	}
	e.repo("feed")
	o = e.getRepo("feed")
	want := []string{"https://git.example/carol/feed.git", "-" + strconv.FormatInt(old, 10)}
	if regs := e.b.registrations(); !slices.Equal(regs, want) {
		t.Fatalf("registrations %v, want %v", regs, want)
	}
	if o.Annotations[AnnotationRepoID] != strconv.FormatInt(served.ID, 10) || o.Annotations[AnnotationRegistered] != "" {
		t.Fatalf("annotations %v: want the forge repository's id and no registered URL", o.Annotations)
	}
	if err := e.c.Delete(ctx, o); err != nil {
		t.Fatal(err)
	}
	e.repo("feed")
	if regs := e.b.registrations(); !slices.Equal(regs, want) {
		t.Fatalf("after delete: registrations %v, want %v (nothing more)", regs, want)
	}
}

// TestDeleteUnregistersWhatTheAnnotationsSay: deleting a Repository unregisters the URL it
// registered even when its spec no longer names it (changed, then deleted before a reconcile).
func TestDeleteUnregistersWhatTheAnnotationsSay(t *testing.T) {
	e := newEnv(t, gitRepo("feed"))
	ctx := context.Background()
	e.repo("feed")
	o := e.getRepo("feed")
	id, _ := repoID(o)
	o.Spec.Source = v1.RepositorySource{Forge: "github", FullName: "alice/pkgs"}
	if err := e.c.Update(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Delete(ctx, o); err != nil {
		t.Fatal(err)
	}
	e.repo("feed")
	if regs := e.b.registrations(); !slices.Equal(regs, []string{"https://git.example/carol/feed.git", "-" + strconv.FormatInt(id, 10)}) {
		t.Fatalf("registrations %v: the URL registered was not unregistered", regs)
	}
	if _, ok := e.getRepoIfAny("feed"); ok {
		t.Error("the deleted Repository is still there")
	}
}
