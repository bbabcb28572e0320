package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// The marks the controller keeps on the objects. The links to the store live in metadata, not
// status: a status can be lost (a backup restored without it) and is rewritten from them.
const (
	// Finalizer holds a Repository until it is unregistered, a Build until it is cancelled.
	Finalizer = "ppa.openwrt.org/controller"
	// LabelRepository names a Build's Repository (so `kubectl get builds -l` finds them).
	LabelRepository = "ppa.openwrt.org/repository"
	// LabelBuildID is the stored build a Build mirrors.
	LabelBuildID = "ppa.openwrt.org/build-id"
	// AnnotationRepoID is the stored repository a Repository is registered as.
	AnnotationRepoID = "ppa.openwrt.org/repository-id"
	// AnnotationRegistered is the git URL it was registered with; a new URL registers anew.
	AnnotationRegistered = "ppa.openwrt.org/registered-url"
	// AnnotationMirrored is the newest stored build mirrored as a Build object: older ones are
	// not made again, so a Build an operator deleted stays deleted.
	AnnotationMirrored = "ppa.openwrt.org/mirrored-through"
)

// Condition types of a Repository.
const (
	CondReady    = "Ready"
	CondBuilding = "Building"
	CondFailed   = "Failed"
)

// mirrorDepth is how many stored builds of a repository are looked at for mirroring.
const mirrorDepth = 20

type reconciler struct {
	client  client.Client
	scheme  *runtime.Scheme
	store   store.Store
	backend Backend
	log     *slog.Logger
	resync  time.Duration
}

// registrant is who registered a repository by URL, as the store's remote records it.
func registrant(namespace, name string) string { return "kubernetes:" + namespace + "/" + name }

func (r *reconciler) reconcileRepository(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var obj v1.Repository
	if err := r.client.Get(ctx, req.NamespacedName, &obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.unregister(ctx, &obj)
	}
	if !controllerutil.ContainsFinalizer(&obj, Finalizer) {
		if err := r.patchMeta(ctx, &obj, func() { controllerutil.AddFinalizer(&obj, Finalizer) }); err != nil {
			return ctrl.Result{}, err
		}
	}
	repo, refusal, err := r.linkRepository(ctx, &obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	// A forge repository the App does not serve yet, or settings another Repository holds, are
	// refused for the service's state, not the spec: they mend themselves when the App is
	// installed or the other object goes, and no event of the object's own says so. A git URL
	// the service refuses stays refused until the spec changes.
	retry := obj.Spec.Source.Git == ""
	if refusal == "" {
		if refusal, err = r.syncConfig(ctx, &obj, repo.ID); err != nil {
			return ctrl.Result{}, err
		}
		retry = true
	}
	status := obj.Status.DeepCopy()
	status.ObservedGeneration = obj.Generation
	if refusal != "" {
		setCondition(status, obj.Generation, CondReady, false, "Refused", refusal)
		setCondition(status, obj.Generation, CondFailed, true, "Refused", refusal)
		setCondition(status, obj.Generation, CondBuilding, false, "Refused", "nothing builds until the spec is mended")
		if retry {
			return ctrl.Result{RequeueAfter: r.resync}, r.patchStatus(ctx, &obj, status)
		}
		// The spec must change; a new generation reconciles again.
		return ctrl.Result{}, r.patchStatus(ctx, &obj, status)
	}
	if err := r.mirrorBuilds(ctx, &obj, repo); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.repositoryStatus(ctx, &obj, repo, status); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: r.resync}, r.patchStatus(ctx, &obj, status)
}

// linkRepository finds or makes the stored repository of obj. A refusal is a message for the
// status: the spec cannot work as it is.
func (r *reconciler) linkRepository(ctx context.Context, obj *v1.Repository) (store.Repository, string, error) {
	src := obj.Spec.Source
	if src.Git == "" {
		return r.bindForgeRepository(ctx, obj)
	}
	if id, ok := repoID(obj); ok && obj.Annotations[AnnotationRegistered] == src.Git {
		repo, err := r.store.Repository(ctx, id)
		switch {
		case err == nil && !repo.Disabled:
			return repo, "", nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return store.Repository{}, "", err
		}
		// Gone or disabled behind the controller's back: register again below.
	} else if ok {
		// Another source than the one linked (an object changed before spec.source was
		// immutable): the old link goes, its feeds stay, the new one comes.
		if err := r.relink(ctx, obj, id); err != nil {
			return store.Repository{}, "", err
		}
	}
	// The spec's configuration goes in with the registration: the first poll builds at once.
	cfg, _ := specConfig(obj, 0)
	repo, err := r.backend.Register(ctx, src.Git, registrant(obj.Namespace, obj.Name), cfg)
	if errors.Is(err, ErrRefused) {
		return store.Repository{}, err.Error(), nil
	}
	if err != nil {
		return store.Repository{}, "", fmt.Errorf("registering %s: %w", src.Git, err)
	}
	r.log.Info("Repository registered", "namespace", obj.Namespace, "name", obj.Name, "url", src.Git, "repo", repo.Path(), "repo_id", repo.ID)
	err = r.patchMeta(ctx, obj, func() {
		metav1.SetMetaDataAnnotation(&obj.ObjectMeta, AnnotationRepoID, strconv.FormatInt(repo.ID, 10))
		metav1.SetMetaDataAnnotation(&obj.ObjectMeta, AnnotationRegistered, src.Git)
	})
	return repo, "", err
}

// bindForgeRepository links obj to the repository of a forge the App serves, the one the
// forge registered (never a new one), and notes its id as a registration's is noted, so a
// deleted object lets go of exactly what it held.
func (r *reconciler) bindForgeRepository(ctx context.Context, obj *v1.Repository) (store.Repository, string, error) {
	repo, refusal, err := r.forgeRepository(ctx, obj.Spec.Source)
	if err != nil || refusal != "" {
		return repo, refusal, err
	}
	id, ok := repoID(obj)
	_, registered := obj.Annotations[AnnotationRegistered]
	if ok && id == repo.ID && !registered {
		return repo, "", nil
	}
	if ok && id != repo.ID {
		// Linked to another repository before (a git URL, before spec.source was immutable).
		if err := r.relink(ctx, obj, id); err != nil {
			return store.Repository{}, "", err
		}
	}
	r.log.Info("Repository bound to a forge repository", "namespace", obj.Namespace, "name", obj.Name, "repo", repo.Path(), "repo_id", repo.ID)
	err = r.patchMeta(ctx, obj, func() {
		metav1.SetMetaDataAnnotation(&obj.ObjectMeta, AnnotationRepoID, strconv.FormatInt(repo.ID, 10))
		delete(obj.Annotations, AnnotationRegistered)
	})
	return repo, "", err
}

// forgeRepository finds a repository of a forge the App serves; the forge registers it.
func (r *reconciler) forgeRepository(ctx context.Context, src v1.RepositorySource) (store.Repository, string, error) {
	i := strings.LastIndex(src.FullName, "/")
	repo, err := r.store.RepositoryByPath(ctx, src.FullName[:i], src.FullName[i+1:])
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && repo.Forge != src.Forge:
		return store.Repository{}, fmt.Sprintf("%s is not a %s repository this service serves: install the App (or add the webhook) on it first", src.FullName, src.Forge), nil
	case err != nil:
		return store.Repository{}, "", err
	case repo.Disabled:
		return store.Repository{}, fmt.Sprintf("%s is disabled: the App was uninstalled from it; install it again", src.FullName), nil
	}
	return repo, "", nil
}

// unregister lets a deleted Repository go: a repository by URL stops being polled and built
// (its feeds stay until an admin removes them), a forge's repository stays the forge's; the
// configuration the object gave goes with it. Its Builds go by their owner references.
func (r *reconciler) unregister(ctx context.Context, obj *v1.Repository) error {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	if id, ok := repoID(obj); ok {
		if err := r.release(ctx, obj, id); err != nil {
			return err
		}
		r.log.Info("Repository deleted: let go, feeds kept", "namespace", obj.Namespace, "name", obj.Name, "repo_id", id)
	}
	// Gone already: a reconcile queued before the finalizer went found it in the cache.
	return client.IgnoreNotFound(r.patchMeta(ctx, obj, func() { controllerutil.RemoveFinalizer(obj, Finalizer) }))
}

// release lets go of the stored repository id that obj was linked to: what it registered by URL
// (the annotation says so, whatever the spec says now) is unregistered, and the configuration
// it stored is removed. A forge's repository is left to its forge.
func (r *reconciler) release(ctx context.Context, obj *v1.Repository, id int64) error {
	if err := r.dropConfig(ctx, obj, id); err != nil {
		return err
	}
	if obj.Annotations[AnnotationRegistered] != "" {
		if err := r.backend.Unregister(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, ErrRefused) {
			return fmt.Errorf("unregistering %s (repository %d): %w", obj.Annotations[AnnotationRegistered], id, err)
		}
	}
	return nil
}

// relink is release for an object that stays, linked anew: the old link goes from its
// annotations, so that a reconcile that stops before the new link is noted does not let go twice.
func (r *reconciler) relink(ctx context.Context, obj *v1.Repository, id int64) error {
	if err := r.release(ctx, obj, id); err != nil {
		return err
	}
	return r.patchMeta(ctx, obj, func() {
		delete(obj.Annotations, AnnotationRepoID)
		delete(obj.Annotations, AnnotationRegistered)
	})
}

func repoID(obj *v1.Repository) (int64, bool) {
	id, err := strconv.ParseInt(obj.Annotations[AnnotationRepoID], 10, 64)
	return id, err == nil && id > 0
}

// mirrorBuilds makes a Build object for each stored build newer than the last one mirrored
// that the controller did not start itself (webhooks, polling, the web's Rebuild).
func (r *reconciler) mirrorBuilds(ctx context.Context, obj *v1.Repository, repo store.Repository) error {
	mark, _ := strconv.ParseInt(obj.Annotations[AnnotationMirrored], 10, 64)
	builds, err := r.store.ListBuilds(ctx, store.BuildQuery{RepoID: repo.ID, Limit: mirrorDepth})
	if err != nil {
		return err
	}
	newest := mark
	for _, b := range builds {
		if b.ID <= mark {
			continue
		}
		newest = max(newest, b.ID)
		if strings.HasPrefix(b.DeliveryID, deliveryPrefix) {
			continue // a Build object asked for it and mirrors it
		}
		bo := mirroredBuild(obj, b)
		if err := controllerutil.SetOwnerReference(obj, bo, r.scheme); err != nil {
			return err
		}
		if err := r.client.Create(ctx, bo); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("mirroring build %d as a Build: %w", b.ID, err)
		}
	}
	if newest == mark {
		return nil
	}
	return r.patchMeta(ctx, obj, func() {
		metav1.SetMetaDataAnnotation(&obj.ObjectMeta, AnnotationMirrored, strconv.FormatInt(newest, 10))
	})
}

// mirroredBuild is the Build object of a stored build the controller did not start.
func mirroredBuild(repoObj *v1.Repository, b store.Build) *v1.Build {
	spec := v1.BuildSpec{Repository: repoObj.Name, Force: b.Forced}
	if b.Ref.Kind == store.RefPR {
		spec.Commit = b.CommitSHA
	} else {
		spec.Ref = b.Ref.Name
	}
	return &v1.Build{
		ObjectMeta: metav1.ObjectMeta{
			Name: repoObj.Name + "-" + strconv.FormatInt(b.ID, 10), Namespace: repoObj.Namespace,
			Labels: map[string]string{LabelRepository: repoObj.Name, LabelBuildID: strconv.FormatInt(b.ID, 10)},
		},
		Spec: spec,
	}
}

// repositoryStatus fills in what the store and the feeds say about repo.
func (r *reconciler) repositoryStatus(ctx context.Context, obj *v1.Repository, repo store.Repository, st *v1.RepositoryStatus) error {
	gen := obj.Generation
	var pollErr string
	if obj.Spec.Source.Git != "" {
		rem, err := r.store.Remote(ctx, repo.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		pollErr = rem.LastError
	}
	latest, err := r.store.LatestBuilds(ctx, repo.ID)
	if err != nil {
		return err
	}
	var building, failed []string
	var newest store.Build
	for _, b := range latest {
		if b.ID > newest.ID {
			newest = b
		}
		switch {
		case b.Status.Pending():
			building = append(building, b.Ref.String())
		case b.Status == store.StatusFailure || b.Status == store.StatusTimedOut:
			failed = append(failed, b.Ref.String())
		}
	}
	setCondition(st, gen, CondReady, true, "Registered", "built into "+repo.Path()+"'s feeds")
	if len(building) > 0 {
		setCondition(st, gen, CondBuilding, true, "Building", "building "+strings.Join(building, ", "))
	} else {
		setCondition(st, gen, CondBuilding, false, "Idle", "no build runs")
	}
	switch {
	case pollErr != "":
		setCondition(st, gen, CondFailed, true, "PollFailed", "listing the repository's refs failed: "+pollErr)
	case len(failed) > 0:
		setCondition(st, gen, CondFailed, true, "BuildFailed", "the latest build failed of "+strings.Join(failed, ", "))
	default:
		setCondition(st, gen, CondFailed, false, "Succeeded", "no latest build failed")
	}
	if st.Feeds, err = r.backend.Feeds(ctx, repo); err != nil {
		return err
	}
	if len(st.Feeds) > 1024 {
		st.Feeds = st.Feeds[:1024]
	}
	if st.KeyFingerprints, err = r.backend.KeyFingerprints(ctx, repo); err != nil {
		return err
	}
	if newest.ID != 0 {
		name, err := r.buildObjectName(ctx, obj.Namespace, newest.ID)
		if err != nil {
			return err
		}
		if name != "" {
			st.LastBuild = name
		}
	}
	return nil
}

// buildObjectName is the name of the Build object that mirrors a stored build, "" if none.
func (r *reconciler) buildObjectName(ctx context.Context, namespace string, buildID int64) (string, error) {
	var list v1.BuildList
	if err := r.client.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabels{LabelBuildID: strconv.FormatInt(buildID, 10)}); err != nil {
		return "", err
	}
	if len(list.Items) == 0 {
		return "", nil
	}
	return list.Items[0].Name, nil
}

func setCondition(st any, gen int64, typ string, ok bool, reason, msg string) {
	c := metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason, Message: msg, ObservedGeneration: gen}
	if ok {
		c.Status = metav1.ConditionTrue
	}
	switch s := st.(type) {
	case *v1.RepositoryStatus:
		meta.SetStatusCondition(&s.Conditions, c)
	case *v1.BuildStatus:
		meta.SetStatusCondition(&s.Conditions, c)
	}
}

// patchMeta changes obj's metadata with a merge patch that fails on a stale resourceVersion:
// the reconcile is then run again on the fresh object, as a conflict should be.
func (r *reconciler) patchMeta(ctx context.Context, obj client.Object, change func()) error {
	base := obj.DeepCopyObject().(client.Object)
	change()
	return r.client.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// patchStatus writes status when it differs: statuses are written from the store, whole.
func (r *reconciler) patchStatus(ctx context.Context, obj client.Object, status any) error {
	switch o := obj.(type) {
	case *v1.Repository:
		st := status.(*v1.RepositoryStatus)
		if equality.Semantic.DeepEqual(&o.Status, st) {
			return nil
		}
		base := o.DeepCopy()
		o.Status = *st
		return r.client.Status().Patch(ctx, o, client.MergeFrom(base))
	case *v1.Build:
		st := status.(*v1.BuildStatus)
		if equality.Semantic.DeepEqual(&o.Status, st) {
			return nil
		}
		base := o.DeepCopy()
		o.Status = *st
		return r.client.Status().Patch(ctx, o, client.MergeFrom(base))
	}
	return fmt.Errorf("no status of %T", obj)
}
