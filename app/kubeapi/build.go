package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// deliveryPrefix marks the stored builds that Build objects asked for: their DeliveryID is
// the prefix and the object's UID.
const deliveryPrefix = "kubernetes:"

// Condition types of a Build.
const (
	CondStarted = "Started"
)

// waitShort is how soon a Build that waits for its Repository looks again.
const waitShort = 2 * time.Second

func (r *reconciler) reconcileBuild(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var obj v1.Build
	if err := r.client.Get(ctx, req.NamespacedName, &obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	id, linked := buildID(&obj)
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.cancel(ctx, &obj, id, linked)
	}
	if !linked {
		return r.startBuild(ctx, &obj)
	}
	b, err := r.store.Build(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// Retention removed the stored build: the object keeps its last status.
		return ctrl.Result{}, r.dropFinalizer(ctx, &obj)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	jobs, err := r.store.JobsOfBuild(ctx, id)
	if err != nil {
		return ctrl.Result{}, err
	}
	repo, err := r.store.Repository(ctx, b.RepoID)
	if err != nil {
		return ctrl.Result{}, err
	}
	st := buildStatus(obj.Status, obj.Generation, b, jobs, func(j store.Job) string { return r.backend.LogURL(repo, b.ID, j.ID) })
	if err := r.patchStatus(ctx, &obj, &st); err != nil {
		return ctrl.Result{}, err
	}
	if b.Status.Final() {
		return ctrl.Result{}, r.dropFinalizer(ctx, &obj)
	}
	if !controllerutil.ContainsFinalizer(&obj, Finalizer) {
		// A mirrored build that runs: deleting its object cancels it too.
		if err := r.patchMeta(ctx, &obj, func() { controllerutil.AddFinalizer(&obj, Finalizer) }); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: r.resync}, nil
}

func buildID(obj *v1.Build) (int64, bool) {
	id, err := strconv.ParseInt(obj.Labels[LabelBuildID], 10, 64)
	return id, err == nil && id > 0
}

// startBuild starts the build a new Build object asks for, once: a build the store already has
// for this object (the controller stopped before it wrote the link) is linked instead.
func (r *reconciler) startBuild(ctx context.Context, obj *v1.Build) (ctrl.Result, error) {
	waiting := func(reason, msg string, again time.Duration) (ctrl.Result, error) {
		st := obj.Status.DeepCopy()
		st.Phase = v1.BuildQueued
		setCondition(st, obj.Generation, CondStarted, false, reason, msg)
		return ctrl.Result{RequeueAfter: again}, r.patchStatus(ctx, obj, st)
	}
	refused := func(reason, msg string) (ctrl.Result, error) {
		st := obj.Status.DeepCopy()
		st.Phase = v1.BuildFailed
		if st.CompletionTime == nil {
			now := metav1.Now()
			st.CompletionTime = &now
		}
		setCondition(st, obj.Generation, CondStarted, false, reason, msg)
		return ctrl.Result{}, r.patchStatus(ctx, obj, st)
	}
	if obj.Status.Phase == v1.BuildFailed {
		return ctrl.Result{}, nil // refused before; a Build's spec never changes
	}
	var repoObj v1.Repository
	err := r.client.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.Repository}, &repoObj)
	if apierrors.IsNotFound(err) {
		return waiting("NoRepository", "no Repository "+obj.Spec.Repository+" in this namespace (yet)", r.resync)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	rid, ok := repoID(&repoObj)
	if !ok && repoObj.Spec.Source.Git == "" {
		repo, refusal, err := r.forgeRepository(ctx, repoObj.Spec.Source)
		if err != nil {
			return ctrl.Result{}, err
		}
		if refusal != "" {
			return waiting("RepositoryNotReady", refusal, r.resync)
		}
		rid, ok = repo.ID, true
	}
	if !ok {
		return waiting("RepositoryNotReady", "Repository "+repoObj.Name+" is not registered yet", waitShort)
	}
	// Owned by its Repository, and held until it ends: deleting it cancels it.
	if !controllerutil.ContainsFinalizer(obj, Finalizer) || !metav1.IsControlledBy(obj, &repoObj) && !ownedBy(obj, &repoObj) {
		err := r.patchMeta(ctx, obj, func() {
			controllerutil.AddFinalizer(obj, Finalizer)
			_ = controllerutil.SetOwnerReference(&repoObj, obj, r.scheme)
			metav1.SetMetaDataLabel(&obj.ObjectMeta, LabelRepository, repoObj.Name)
		})
		if err != nil {
			return ctrl.Result{}, err
		}
	}
	delivery := deliveryPrefix + string(obj.UID)
	id, err := r.findDelivery(ctx, rid, delivery)
	if err != nil {
		return ctrl.Result{}, err
	}
	if id == 0 {
		repo, err := r.store.Repository(ctx, rid)
		if err != nil {
			return ctrl.Result{}, err
		}
		ref, sha, why, err := r.resolve(ctx, repo, obj.Spec)
		if err != nil {
			return ctrl.Result{}, err
		}
		if why != "" {
			return waiting("WaitingForRef", why, waitShort)
		}
		id, err = r.backend.StartBuild(ctx, BuildRequest{RepoID: rid, Ref: ref, SHA: sha, Force: obj.Spec.Force,
			Actor: registrant(obj.Namespace, obj.Name), DeliveryID: delivery})
		if errors.Is(err, ErrRefused) {
			return refused("Refused", err.Error())
		}
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("starting the build of %s: %w", obj.Name, err)
		}
		r.log.Info("Build started", "namespace", obj.Namespace, "name", obj.Name, "build", id, "ref", ref.String(), "sha", sha, "force", obj.Spec.Force)
	}
	err = r.patchMeta(ctx, obj, func() { metav1.SetMetaDataLabel(&obj.ObjectMeta, LabelBuildID, strconv.FormatInt(id, 10)) })
	if err != nil {
		return ctrl.Result{}, err
	}
	// The status follows from the link, at once.
	return ctrl.Result{Requeue: true}, nil
}

func ownedBy(obj, owner metav1.Object) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == owner.GetUID() {
			return true
		}
	}
	return false
}

// findDelivery is the stored build made for a delivery ID, 0 if none.
func (r *reconciler) findDelivery(ctx context.Context, repoID int64, delivery string) (int64, error) {
	builds, err := r.store.ListBuilds(ctx, store.BuildQuery{RepoID: repoID, Limit: mirrorDepth})
	if err != nil {
		return 0, err
	}
	for _, b := range builds {
		if b.DeliveryID == delivery {
			return b.ID, nil
		}
	}
	return 0, nil
}

// resolve finds the ref and commit a Build spec names. why says what it waits for (the first
// poll of a repository by URL) when it cannot tell yet.
func (r *reconciler) resolve(ctx context.Context, repo store.Repository, spec v1.BuildSpec) (store.Ref, string, string, error) {
	if repo.Forge != store.ForgeGit {
		// The forge's events keep its heads; a Build rebuilds what its latest build of the
		// ref built, or the commit asked for on the default branch.
		if spec.Commit != "" {
			return store.Ref{Kind: store.RefBranch, Name: repo.DefaultBranch}, spec.Commit, "", nil
		}
		for _, kind := range []store.RefKind{store.RefBranch, store.RefTag} {
			ref := store.Ref{Kind: kind, Name: spec.Ref}
			if b, err := r.store.LatestBuild(ctx, repo.ID, ref); err == nil {
				return ref, b.CommitSHA, "", nil
			}
		}
		return store.Ref{}, "", spec.Ref + " has not been pushed since the App was installed: push it first", nil
	}
	rem, err := r.store.Remote(ctx, repo.ID)
	if err != nil {
		return store.Ref{}, "", "", err
	}
	if rem.Refs == nil {
		return store.Ref{}, "", "waiting for the first listing of the repository's refs", nil
	}
	if spec.Commit != "" {
		branch := repo.DefaultBranch
		for name, sha := range rem.Refs {
			if sha == spec.Commit && strings.HasPrefix(name, "refs/heads/") {
				branch = strings.TrimPrefix(name, "refs/heads/")
				break
			}
		}
		return store.Ref{Kind: store.RefBranch, Name: branch}, spec.Commit, "", nil
	}
	if sha, ok := rem.Refs["refs/heads/"+spec.Ref]; ok {
		return store.Ref{Kind: store.RefBranch, Name: spec.Ref}, sha, "", nil
	}
	if sha, ok := rem.Refs["refs/tags/"+spec.Ref]; ok {
		return store.Ref{Kind: store.RefTag, Name: spec.Ref}, sha, "", nil
	}
	return store.Ref{}, "", "the repository has no branch or tag " + spec.Ref + " (as of its last listing)", nil
}

// cancel lets a deleted Build go, cancelling its stored build first if it runs.
func (r *reconciler) cancel(ctx context.Context, obj *v1.Build, id int64, linked bool) error {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	if linked {
		b, err := r.store.Build(ctx, id)
		switch {
		case err == nil && !b.Status.Final():
			if err := r.backend.CancelBuild(ctx, id, "Its Build object "+obj.Name+" was deleted."); err != nil {
				return fmt.Errorf("cancelling build %d: %w", id, err)
			}
			r.log.Info("Build deleted: cancelled", "namespace", obj.Namespace, "name", obj.Name, "build", id)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	return r.dropFinalizer(ctx, obj)
}

func (r *reconciler) dropFinalizer(ctx context.Context, obj *v1.Build) error {
	if !controllerutil.ContainsFinalizer(obj, Finalizer) {
		return nil
	}
	return r.patchMeta(ctx, obj, func() { controllerutil.RemoveFinalizer(obj, Finalizer) })
}
