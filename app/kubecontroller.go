package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/app/events"
	"github.com/openwrt-ppa/openwrt-ppa/app/kubeapi"
	"github.com/openwrt-ppa/openwrt-ppa/app/remote"
	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/builder/kube"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// kubeBackend is the controller's Backend over the stages: the JSON API's paths.
type kubeBackend struct {
	s     *Service
	feeds *feedLister
}

var _ kubeapi.Backend = kubeBackend{}

// refused marks the stages' errors that retrying cannot mend.
func refused(err error) error {
	switch {
	case errors.Is(err, giturl.ErrRefused), errors.Is(err, remote.ErrNotAllowed), errors.Is(err, remote.ErrNameTaken),
		errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", kubeapi.ErrRefused, err)
	}
	return err
}

// Register adds the repository as the API's POST /api/v1/repos does for an admin: whoever may
// create Repository objects in the namespace is trusted as much. A repository this registrant
// registered before (the controller stopped before it noted so) is taken back.
func (k kubeBackend) Register(ctx context.Context, url, by string, cfg store.RepoConfig) (store.Repository, error) {
	a, err := k.s.remotes.Add(ctx, remote.AddRequest{URL: url, AddedBy: by, Admin: true, Config: cfg})
	if err == nil {
		return a.Repo, nil
	}
	if errors.Is(err, remote.ErrNameTaken) {
		if u, perr := giturl.Parse(url); perr == nil {
			if owner, name, ok := giturl.Name(u); ok {
				if repo, rerr := k.s.store.RepositoryByPath(ctx, owner, name); rerr == nil && !repo.Disabled {
					if rem, rerr := k.s.store.Remote(ctx, repo.ID); rerr == nil && rem.AddedBy == by {
						return repo, nil
					}
				}
			}
		}
	}
	return store.Repository{}, refused(err)
}

func (k kubeBackend) Unregister(ctx context.Context, repoID int64) error {
	return refused(k.s.remotes.Remove(ctx, repoID))
}

func (k kubeBackend) StartBuild(ctx context.Context, req kubeapi.BuildRequest) (int64, error) {
	id, err := k.s.events.StartBuild(ctx, events.BuildRequest{RepoID: req.RepoID, Ref: req.Ref, SHA: req.SHA,
		Force: req.Force, Actor: req.Actor, DeliveryID: req.DeliveryID})
	return id, refused(err)
}

func (k kubeBackend) CancelBuild(ctx context.Context, buildID int64, why string) error {
	return k.s.events.CancelBuild(ctx, buildID, why)
}

// Feeds lists the published feeds with the URL a router adds: the folder for opkg, the index
// itself for apk.
func (k kubeBackend) Feeds(ctx context.Context, repo store.Repository) ([]v1.FeedStatus, error) {
	list, err := k.feeds.Feeds(ctx, repo)
	if err != nil {
		return nil, err
	}
	out := make([]v1.FeedStatus, 0, len(list))
	for _, f := range list {
		url := k.s.report.FeedURL(repo, f.Ref, f.Series, f.Arch)
		if url == "" {
			continue
		}
		if f.Format == web.FormatAPK {
			url += feeds.FileAPKIndex
		}
		out = append(out, v1.FeedStatus{Ref: feedRefName(f.Ref), Series: f.Series, Arch: f.Arch, URL: url})
	}
	return out, nil
}

// feedRefName is a feed's ref as its URL spells it below the repository.
func feedRefName(r store.Ref) string {
	switch {
	case r.Kind == store.RefTag && r.Name == "":
		return "latest"
	case r.Kind == store.RefTag:
		return "tags/" + r.Name
	case r.Kind == store.RefPR:
		return "pr/" + r.Name
	}
	return r.Name
}

func (k kubeBackend) KeyFingerprints(ctx context.Context, repo store.Repository) ([]string, error) {
	var out []string
	for _, kind := range []store.KeyKind{store.KeyMain, store.KeyAPKMain} {
		id, err := k.feeds.KeyFingerprint(ctx, repo, kind)
		if err != nil {
			return nil, err
		}
		if id != "" {
			out = append(out, string(kind)+":"+id)
		}
	}
	return out, nil
}

func (k kubeBackend) LogURL(repo store.Repository, buildID, jobID int64) string {
	return k.s.report.LogURL(repo, buildID, jobID)
}

// ControllerTuning overrides the Kubernetes controller's defaults.
type ControllerTuning struct {
	Group     string        // the custom resources' API group (v1alpha1.GroupName)
	LeaseName string        // the leader election's Lease (kubeapi.DefaultLeaderElectionID)
	Lease     time.Duration // how long a stopped leader holds it
	Resync    time.Duration // how often statuses are refreshed from the store
}

// controllerRetry is how often serve tries again to start the controller it could not start.
const controllerRetry = 30 * time.Second

// runController runs the Kubernetes controller (--kubernetes) until ctx ends, starting it again
// when the cluster could not be reached.
func (rt *Runtime) runController(ctx context.Context) {
	for ctx.Err() == nil {
		err := rt.controllerOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		rt.log.Warn("the Kubernetes controller stopped; starting it again", "in", controllerRetry, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(controllerRetry):
		}
	}
}

func (rt *Runtime) controllerOnce(ctx context.Context) error {
	c := rt.Config
	rc, err := kube.Config(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("%w (--kubeconfig, or run serve in a pod)", err)
	}
	ns := c.KubernetesNamespace
	if ns == "" {
		if ns, err = kube.Namespace(c.Kubeconfig); err != nil {
			return fmt.Errorf("%w: set --kubernetes-namespace", err)
		}
	}
	t := rt.Controller
	ctl, err := kubeapi.New(kubeapi.Options{Config: rc, Namespace: ns, Group: t.Group, Logger: rt.log,
		LeaseDuration: t.Lease, Resync: t.Resync, LeaderElectionID: t.LeaseName},
		rt.Store, kubeBackend{s: rt.Service, feeds: &feedLister{feeds: rt.Feeds, keys: rt.Keys}})
	if err != nil {
		return err
	}
	return ctl.Run(ctx)
}
