package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// ErrRefused marks a Backend error that retrying cannot mend (a URL the policy refuses, a name
// another repository holds, a ref that does not build): the controller reports it in the
// status and waits for the spec to change.
var ErrRefused = errors.New("refused")

// BuildRequest asks for one build, as the API's rebuild does.
type BuildRequest struct {
	RepoID int64
	Ref    store.Ref
	SHA    string
	Force  bool
	Actor  string
	// DeliveryID is kept on the stored build, so the controller finds it again after a restart.
	DeliveryID string
}

// Backend is what the controller asks of the service: the paths the JSON API takes. Errors
// wrapping ErrRefused are final for the spec they answer; others are retried.
type Backend interface {
	// Register registers a repository by git URL for by ("kubernetes:<namespace>/<name>"), or
	// returns the repository by registered already for the same URL. cfg, when it sets
	// anything, is stored for the repository before its first poll.
	Register(ctx context.Context, url, by string, cfg store.RepoConfig) (store.Repository, error)
	// Unregister stops polling and building a repository by URL; its feeds stay.
	Unregister(ctx context.Context, repoID int64) error
	StartBuild(ctx context.Context, req BuildRequest) (int64, error)
	CancelBuild(ctx context.Context, buildID int64, why string) error
	// Feeds are a repository's published feeds with their public URLs.
	Feeds(ctx context.Context, repo store.Repository) ([]v1.FeedStatus, error)
	// KeyFingerprints are those of the keys that sign its feeds (none before its first build).
	KeyFingerprints(ctx context.Context, repo store.Repository) ([]string, error)
	LogURL(repo store.Repository, buildID, jobID int64) string
}

// Options configure the controller.
type Options struct {
	Config    *rest.Config
	Namespace string // the one namespace whose Repositories and Builds it serves
	// Group is the custom resources' API group: v1alpha1.GroupName unless a test installs the
	// CRDs under a group of its own.
	Group string
	// LeaderElectionID names the Lease that elects one active controller among serve replicas.
	LeaderElectionID string
	// Resync is how often statuses are refreshed from the store (the store has no watch);
	// 0 means 5 seconds.
	Resync time.Duration
	// LeaseDuration bounds how long a dead leader holds the Lease; 0: controller-runtime's 15 s.
	LeaseDuration time.Duration
	Logger        *slog.Logger
}

// DefaultLeaderElectionID is the Lease's name unless Options say otherwise.
const DefaultLeaderElectionID = "openwrt-ppa-controller"

// Controller runs the reconcilers of Repository and Build.
type Controller struct {
	opts    Options
	store   store.Store
	backend Backend
	mgr     ctrl.Manager
}

// logOnce hands controller-runtime's global logger the service's, once per process:
// the library reads it from a package variable, and complains on stderr when it was never set.
var logOnce sync.Once

// Scheme is a scheme holding the custom resources under group.
func Scheme(group string) (*runtime.Scheme, error) {
	if group == "" {
		group = v1.GroupName
	}
	gv := schema.GroupVersion{Group: group, Version: v1.SchemeGroupVersion.Version}
	s := runtime.NewScheme()
	s.AddKnownTypes(gv, &v1.Repository{}, &v1.RepositoryList{}, &v1.Build{}, &v1.BuildList{})
	metav1.AddToGroupVersion(s, gv)
	return s, nil
}

// New makes the controller; Run starts it.
func New(opts Options, st store.Store, b Backend) (*Controller, error) {
	if opts.Config == nil || opts.Namespace == "" || st == nil || b == nil {
		return nil, errors.New("the Kubernetes controller needs a cluster, a namespace, a store and the service")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = DefaultLeaderElectionID
	}
	if opts.Resync <= 0 {
		opts.Resync = 5 * time.Second
	}
	log := managerLogger(opts.Logger.Handler())
	logOnce.Do(func() { crlog.SetLogger(log) })
	scheme, err := Scheme(opts.Group)
	if err != nil {
		return nil, err
	}
	skip := true
	mo := ctrl.Options{
		Scheme: scheme, Logger: log,
		Cache:                   cache.Options{DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}}},
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		LeaderElection:          true,
		LeaderElectionID:        opts.LeaderElectionID,
		LeaderElectionNamespace: opts.Namespace,
		// A replica that stops (rolling update, SIGTERM) hands over at once, not after the lease.
		LeaderElectionReleaseOnCancel: true,
		// One process may run the controller again (tests restart it).
		Controller: config.Controller{SkipNameValidation: &skip},
	}
	if opts.LeaseDuration > 0 {
		renew, retry := opts.LeaseDuration*2/3, opts.LeaseDuration/5
		mo.LeaseDuration, mo.RenewDeadline, mo.RetryPeriod = &opts.LeaseDuration, &renew, &retry
	}
	mgr, err := ctrl.NewManager(opts.Config, mo)
	if err != nil {
		return nil, fmt.Errorf("the Kubernetes controller: %w", err)
	}
	c := &Controller{opts: opts, store: st, backend: b, mgr: mgr}
	r := &reconciler{client: mgr.GetClient(), scheme: scheme, store: st, backend: b, log: opts.Logger, resync: opts.Resync}
	if err := ctrl.NewControllerManagedBy(mgr).For(&v1.Repository{}).Named("repository").Complete(reconcileFunc(r.reconcileRepository)); err != nil {
		return nil, err
	}
	if err := ctrl.NewControllerManagedBy(mgr).For(&v1.Build{}).Named("build").Complete(reconcileFunc(r.reconcileBuild)); err != nil {
		return nil, err
	}
	return c, nil
}

// Run serves until ctx ends: it waits to be elected, then reconciles.
func (c *Controller) Run(ctx context.Context) error {
	c.opts.Logger.Info("Kubernetes controller starting; waiting to lead", "namespace", c.opts.Namespace, "lease", c.opts.LeaderElectionID)
	return c.mgr.Start(ctx)
}

// Elected is closed once this replica leads.
func (c *Controller) Elected() <-chan struct{} { return c.mgr.Elected() }

// Client is the controller's client of the cluster (tests).
func (c *Controller) Client() client.Client { return c.mgr.GetClient() }

type reconcileFunc func(context.Context, ctrl.Request) (ctrl.Result, error)

// Reconcile runs f; a conflict (another writer changed the object since it was read) is no
// error but a reason to run again at once on the fresh object. Nor is a reconcile cut short
// because the manager stops (shutdown, or the lease handed on): the next leader runs it again
// from the start, and controller-runtime would log it at ERROR.
func (f reconcileFunc) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	res, err := f(ctx, req)
	if apierrors.IsConflict(err) {
		return ctrl.Result{Requeue: true}, nil
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ctrl.Result{}, nil
	}
	return res, err
}
