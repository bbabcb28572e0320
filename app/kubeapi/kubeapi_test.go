package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

const ns = "ppa"

// fakeBackend stands for the service: it registers into and builds in a real store.
type fakeBackend struct {
	mu                          sync.Mutex
	st                          store.Store
	registered, started, cancel []string
	configs                     []store.RepoConfig // what each registration carried
	refuse                      error
}

func (f *fakeBackend) Register(ctx context.Context, url, by string, cfg store.RepoConfig) (store.Repository, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse != nil {
		return store.Repository{}, f.refuse
	}
	f.registered = append(f.registered, url)
	repo, err := f.st.PutRepository(ctx, store.Repository{Forge: store.ForgeGit, ForgeID: strconv.Itoa(len(f.registered)),
		Owner: "carol", Name: "feed" + strconv.Itoa(len(f.registered)), CloneURL: url, DefaultBranch: "main"})
	if err != nil {
		return repo, err
	}
	f.configs = append(f.configs, cfg)
	if cfg.Sets() {
		cfg.RepoID = repo.ID
		if _, err := f.st.PutRepoConfig(ctx, cfg); err != nil {
			return repo, err
		}
	}
	_, err = f.st.PutRemote(ctx, store.Remote{RepoID: repo.ID, URL: url, AddedBy: by, Refs: map[string]string{"refs/heads/main": sha("a")}})
	return repo, err
}

func (f *fakeBackend) registrations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.registered...)
}

func (f *fakeBackend) Unregister(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered = append(f.registered, "-"+strconv.FormatInt(id, 10))
	return nil
}

func (f *fakeBackend) StartBuild(ctx context.Context, req BuildRequest) (int64, error) {
	f.started = append(f.started, fmt.Sprintf("%s@%s force=%v", req.Ref, req.SHA[:4], req.Force))
	b, err := f.st.CreateBuild(ctx, store.Build{RepoID: req.RepoID, Ref: req.Ref, CommitSHA: req.SHA, Trigger: store.TriggerAPI,
		Forced: req.Force, Status: store.StatusRunning, DeliveryID: req.DeliveryID, Created: time.Now()})
	return b.ID, err
}

func (f *fakeBackend) CancelBuild(ctx context.Context, id int64, _ string) error {
	f.cancel = append(f.cancel, strconv.FormatInt(id, 10))
	_, err := f.st.UpdateBuild(ctx, id, func(b *store.Build) error { b.Status = store.StatusCancelled; return nil })
	return err
}

func (f *fakeBackend) Feeds(_ context.Context, repo store.Repository) ([]v1.FeedStatus, error) {
	return []v1.FeedStatus{{Ref: "main", Series: "24.10", Arch: "x86_64", URL: "https://ppa.example/" + repo.Path() + "/main/24.10/x86_64/"}}, nil
}

func (f *fakeBackend) KeyFingerprints(context.Context, store.Repository) ([]string, error) {
	return []string{"main:0123456789abcdef"}, nil
}

func (f *fakeBackend) LogURL(repo store.Repository, b, j int64) string {
	return fmt.Sprintf("https://ppa.example/%s/-/builds/%d#job-%d", repo.Path(), b, j)
}

func sha(c string) string {
	out := ""
	for len(out) < 40 {
		out += c
	}
	return out
}

type env struct {
	t  *testing.T
	r  *reconciler
	c  client.Client
	st store.Store
	b  *fakeBackend
}

func newEnv(t *testing.T, objs ...client.Object) *env {
	t.Helper()
	scheme, _ := Scheme("")
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&v1.Repository{}, &v1.Build{}).Build()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &fakeBackend{st: db}
	return &env{t: t, c: c, st: db, b: b, r: &reconciler{client: c, scheme: scheme, store: db, backend: b,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), resync: time.Second}}
}

// repo and build reconcile one object until it asks for nothing at once (at most 5 rounds).
func (e *env) repo(name string) ctrl.Result {
	e.t.Helper()
	return e.loop(e.r.reconcileRepository, name)
}

func (e *env) build(name string) ctrl.Result {
	e.t.Helper()
	return e.loop(e.r.reconcileBuild, name)
}

func (e *env) loop(f func(context.Context, ctrl.Request) (ctrl.Result, error), name string) ctrl.Result {
	e.t.Helper()
	for range 5 {
		res, err := reconcileFunc(f).Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
		if err != nil {
			e.t.Fatalf("reconciling %s: %v", name, err)
		}
		if !res.Requeue {
			return res
		}
	}
	e.t.Fatalf("reconciling %s: still requeued after 5 rounds", name)
	return ctrl.Result{}
}

func (e *env) getRepo(name string) *v1.Repository {
	e.t.Helper()
	var o v1.Repository
	if err := e.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &o); err != nil {
		e.t.Fatal(err)
	}
	return &o
}

func (e *env) getRepoIfAny(name string) (*v1.Repository, bool) {
	e.t.Helper()
	var o v1.Repository
	err := e.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &o)
	return &o, err == nil
}

func (e *env) getBuild(name string) (*v1.Build, bool) {
	e.t.Helper()
	var o v1.Build
	err := e.c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &o)
	return &o, err == nil
}

func gitRepo(name string) *v1.Repository {
	return &v1.Repository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Generation: 1},
		Spec: v1.RepositorySpec{Source: v1.RepositorySource{Git: "https://git.example/carol/feed.git"}}}
}

func buildObj(name string, force bool) *v1.Build {
	return &v1.Build{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name)},
		Spec: v1.BuildSpec{Repository: "feed", Ref: "main", Force: force}}
}

// TestRepositoryRegistersOnce: a Repository registers through the backend once, however often
// it is reconciled, and reports Ready with the feeds, fingerprints and observedGeneration; a
// refused URL reports the refusal and waits for a new spec.
func TestRepositoryRegistersOnce(t *testing.T) {
	cases := []struct {
		name       string
		refuse     error
		wantReady  metav1.ConditionStatus
		wantReason string
		registered int
		requeue    bool
	}{
		{"registered", nil, metav1.ConditionTrue, "Registered", 1, true},
		{"refused", fmt.Errorf("%w: file:// URLs are refused", ErrRefused), metav1.ConditionFalse, "Refused", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, gitRepo("feed"))
			e.b.refuse = tc.refuse
			var res ctrl.Result
			for range 3 {
				res = e.repo("feed")
			}
			if len(e.b.registered) != tc.registered {
				t.Errorf("registered %v, want %d registration", e.b.registered, tc.registered)
			}
			o := e.getRepo("feed")
			c := meta.FindStatusCondition(o.Status.Conditions, CondReady)
			if c == nil || c.Status != tc.wantReady || c.Reason != tc.wantReason || c.ObservedGeneration != 1 || o.Status.ObservedGeneration != 1 {
				t.Fatalf("Ready %+v, observedGeneration %d", c, o.Status.ObservedGeneration)
			}
			if (res.RequeueAfter > 0) != tc.requeue {
				t.Errorf("result %+v, want requeue %v", res, tc.requeue)
			}
			if tc.refuse != nil {
				return
			}
			if len(o.Status.Feeds) != 1 || len(o.Status.KeyFingerprints) != 1 || o.Annotations[AnnotationRepoID] == "" || len(o.Finalizers) != 1 {
				t.Errorf("status %+v, metadata %+v", o.Status, o.ObjectMeta)
			}
		})
	}
}

// TestBuildsMirrored: stored builds the controller did not start become Build objects owned by
// the Repository, once: a deleted one is not made again, and one a Build asked for is skipped.
func TestBuildsMirrored(t *testing.T) {
	e := newEnv(t, gitRepo("feed"))
	e.repo("feed")
	id, _ := repoID(e.getRepo("feed"))
	ctx := context.Background()
	mk := func(delivery string, st store.Status) store.Build {
		b, err := e.st.CreateBuild(ctx, store.Build{RepoID: id, Ref: store.Ref{Kind: store.RefBranch, Name: "main"}, CommitSHA: sha("b"),
			Trigger: store.TriggerPush, Status: st, DeliveryID: delivery, Created: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	polled := mk("poll:1", store.StatusSuccess)
	asked := mk(deliveryPrefix+"uid-x", store.StatusSuccess)
	e.repo("feed")
	name := "feed-" + strconv.FormatInt(polled.ID, 10)
	bo, ok := e.getBuild(name)
	if !ok || len(bo.OwnerReferences) != 1 || bo.OwnerReferences[0].Name != "feed" || bo.Labels[LabelBuildID] != strconv.FormatInt(polled.ID, 10) {
		t.Fatalf("mirrored Build %v %+v", ok, bo.ObjectMeta)
	}
	if _, ok := e.getBuild("feed-" + strconv.FormatInt(asked.ID, 10)); ok {
		t.Error("a build a Build object asked for was mirrored again")
	}
	e.build(name)
	bo, _ = e.getBuild(name)
	if bo.Status.Phase != v1.BuildSucceeded || len(bo.Finalizers) != 0 {
		t.Errorf("mirrored Build status %+v finalizers %v", bo.Status, bo.Finalizers)
	}
	if err := e.c.Delete(ctx, bo); err != nil {
		t.Fatal(err)
	}
	e.repo("feed")
	if _, ok := e.getBuild(name); ok {
		t.Error("a deleted mirrored Build was made again")
	}
	if got := e.getRepo("feed").Status.LastBuild; got != "" {
		t.Errorf("lastBuild %q names a Build that is gone", got)
	}
}

// TestBuildStartsOnce: a Build starts one build with its force, is linked to it, and a
// controller that lost the link (stopped before writing it) finds the build again instead of
// starting another. Deleting it while it runs cancels it.
func TestBuildStartsOnce(t *testing.T) {
	for _, force := range []bool{false, true} {
		t.Run("force="+strconv.FormatBool(force), func(t *testing.T) {
			e := newEnv(t, gitRepo("feed"), buildObj("b", force))
			e.repo("feed")
			e.build("b")
			e.build("b")
			want := fmt.Sprintf("branch:main@aaaa force=%v", force)
			if len(e.b.started) != 1 || e.b.started[0] != want {
				t.Fatalf("started %v, want [%s]", e.b.started, want)
			}
			bo, _ := e.getBuild("b")
			if bo.Status.Phase != v1.BuildRunning || bo.Labels[LabelBuildID] == "" || len(bo.OwnerReferences) != 1 || len(bo.Finalizers) != 1 {
				t.Fatalf("Build %+v", bo)
			}
			// The link lost: found again by its delivery id.
			delete(bo.Labels, LabelBuildID)
			if err := e.c.Update(context.Background(), bo); err != nil {
				t.Fatal(err)
			}
			e.build("b")
			if len(e.b.started) != 1 {
				t.Errorf("started again after the link was lost: %v", e.b.started)
			}
			bo, _ = e.getBuild("b")
			if err := e.c.Delete(context.Background(), bo); err != nil {
				t.Fatal(err)
			}
			e.build("b")
			if _, ok := e.getBuild("b"); ok || len(e.b.cancel) != 1 || e.b.cancel[0] != bo.Labels[LabelBuildID] {
				t.Errorf("after delete: still there %v, cancelled %v", ok, e.b.cancel)
			}
		})
	}
}

// TestBuildWaitsOrFails: a Build of a Repository not registered yet, or of a ref the repository
// lacks, waits in Queued saying why; a refused start ends it Failed.
func TestBuildWaitsOrFails(t *testing.T) {
	cases := []struct {
		name       string
		ref        string
		registered bool
		refuse     bool
		phase      v1.BuildPhase
		reason     string
	}{
		{"no repository", "main", false, false, v1.BuildQueued, "NoRepository"},
		{"no such ref", "nope", true, false, v1.BuildQueued, "WaitingForRef"},
		{"refused", "main", true, true, v1.BuildFailed, "Refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bo := buildObj("b", false)
			bo.Spec.Ref = tc.ref
			objs := []client.Object{bo}
			if tc.registered {
				objs = append(objs, gitRepo("feed"))
			}
			e := newEnv(t, objs...)
			if tc.registered {
				e.repo("feed")
			}
			if tc.refuse {
				e.r.backend = refusingStart{e.b}
			}
			e.build("b")
			got, _ := e.getBuild("b")
			c := meta.FindStatusCondition(got.Status.Conditions, CondStarted)
			if got.Status.Phase != tc.phase || c == nil || c.Reason != tc.reason {
				t.Errorf("phase %s condition %+v, want %s %s", got.Status.Phase, c, tc.phase, tc.reason)
			}
		})
	}
}

type refusingStart struct{ *fakeBackend }

func (refusingStart) StartBuild(context.Context, BuildRequest) (int64, error) {
	return 0, fmt.Errorf("%w: branch main does not build: %w", ErrRefused, errors.New("branches: [release/*]"))
}

// TestReconcileCutShortByStopIsNoError: a reconcile that fails because the manager stopped
// (its context cancelled) is no error, so a clean stop logs none; the same error while the
// manager runs, and any other error, stay errors.
func TestReconcileCutShortByStopIsNoError(t *testing.T) {
	stopped, stop := context.WithCancel(context.Background())
	stop()
	cases := []struct {
		name    string
		ctx     context.Context
		err     error
		wantErr bool
	}{
		{"cut short by the stop", stopped, fmt.Errorf("listing the latest builds: %w", context.Canceled), false},
		{"another error during the stop", stopped, errors.New("store broken"), true},
		{"cancelled while running", context.Background(), fmt.Errorf("a call: %w", context.Canceled), true},
		{"no error", context.Background(), nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := reconcileFunc(func(context.Context, ctrl.Request) (ctrl.Result, error) { return ctrl.Result{}, tc.err })
			if _, err := f.Reconcile(tc.ctx, ctrl.Request{}); (err != nil) != tc.wantErr {
				t.Fatalf("Reconcile answered %v, want an error: %v", err, tc.wantErr)
			}
		})
	}
}
