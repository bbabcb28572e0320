package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/events"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/jobs"
	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/app/remote"
	"github.com/openwrt-ppa/openwrt-ppa/app/report"
	"github.com/openwrt-ppa/openwrt-ppa/app/upkeep"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
)

// Service is the stages of the data's way wired to one store, queue and set of forges: the event
// stage, the janitor, and what a worker is made from. It holds no state of its own: everything
// durable is in the store and the queue, so several Services (serve replicas) can share them.
type Service struct {
	cfg    Config
	store  store.Store
	queue  queue.Queue
	forges model.Forges
	// catalogues follows the registry's point releases (Runtime.Serve refreshes it).
	catalogues *builder.CatalogueSource
	report     *report.Reporter
	publish    *publish.Publisher
	keys       *keys.Ring
	tokens     *keys.Tokens
	guard      *keys.ReadGuard
	log        *slog.Logger
	metrics    *metrics.Metrics
	now        func() time.Time

	events  *events.Processor
	janitor *upkeep.Janitor
	remotes *remote.Remotes
	images  *imageDigests
}

// Deps are the parts a Service is made of; cmd wires them.
type Deps struct {
	Store     store.Store
	Queue     queue.Queue
	Forges    []forge.Forge
	Catalogue *builder.Catalogue // the embedded table when nil
	Tags      builder.TagLister  // the registry's tag list (RegistryTags when nil)
	Feeds     publish.Feeds
	Keys      *keys.Ring
	Tokens    *keys.Tokens
	Locker    store.Locker // nil: locks within this process only
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
	Now       func() time.Time
}

// NewService checks deps and wires the stages.
func NewService(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Queue == nil {
		return nil, fmt.Errorf("service needs a store and a queue")
	}
	if d.Catalogue == nil {
		c, err := builder.LoadCatalogue()
		if err != nil {
			return nil, err
		}
		d.Catalogue = c
	}
	if d.Locker == nil {
		d.Locker = inproc.NewLocker()
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New(nil)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	catalogues := builder.NewCatalogueSource(d.Catalogue, cfg.Registry, d.Tags, d.Logger)
	forges := model.Forges{}
	for _, f := range d.Forges {
		forges[f.Name()] = f
	}
	data := datadir.Dir(cfg.Data)
	var s *Service
	remotes, err := openRemotes(cfg, d, forge.InboxFunc(func(ctx context.Context, ev *forge.Event) (bool, error) {
		return s.events.Inbox().Put(ctx, ev)
	}))
	if err != nil {
		return nil, err
	}
	forges[remote.Name] = remotes.Forge()
	s = &Service{remotes: remotes,
		cfg: cfg, store: d.Store, queue: d.Queue, forges: forges, catalogues: catalogues,
		keys: d.Keys, tokens: d.Tokens, log: d.Logger, metrics: d.Metrics, now: d.Now,
		report:  &report.Reporter{Forges: forges, Store: d.Store, BaseURL: cfg.BaseURL(), Metrics: d.Metrics, Now: d.Now, Locker: d.Locker},
		publish: &publish.Publisher{Feeds: d.Feeds, Store: d.Store, Data: data, QuotaMB: cfg.RepoQuotaMB, Metrics: d.Metrics},
		guard:   &keys.ReadGuard{Tokens: d.Tokens, Repos: d.Store, Admin: cfg.AdminToken.Reveal(), Now: d.Now},
		images:  &imageDigests{},
	}
	s.events, err = events.New(events.Config{Shared: cfg.Redis != "", Registry: cfg.Registry, Image: cfg.Image,
		QueueLimit: cfg.QueueLimit, PRFeedTTL: cfg.PRFeedTTL},
		events.Deps{Store: d.Store, Queue: d.Queue, Forges: forges, Catalogue: catalogues, Reporter: s.report,
			Publisher: s.publish, Data: data, Locker: d.Locker, Logger: d.Logger, Metrics: d.Metrics, Now: d.Now,
			Images: s.images, Quota: remotes})
	if err != nil {
		return nil, err
	}
	s.janitor = upkeep.New(upkeep.Config{KeepBuilds: cfg.KeepBuilds, PRFeedTTL: cfg.PRFeedTTL},
		upkeep.Deps{Store: d.Store, Queue: d.Queue, Feeds: d.Feeds, Data: data, Logger: d.Logger, Now: d.Now})
	return s, nil
}

// openRemotes makes the stage of repositories by URL from the settings.
func openRemotes(cfg Config, d Deps, inbox forge.Inbox) (*remote.Remotes, error) {
	var tlsConf *tls.Config
	if cfg.ReposCAFile != "" {
		pem, err := os.ReadFile(cfg.ReposCAFile)
		if err != nil {
			return nil, fmt.Errorf("--repos-ca-file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--repos-ca-file %s holds no PEM certificate", cfg.ReposCAFile)
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	switch cfg.ReposAllow {
	case "", remote.AllowUsers, remote.AllowAdmins, remote.AllowOff:
	default:
		return nil, fmt.Errorf("--repos-allow %q is not users, admins or off", cfg.ReposAllow)
	}
	return remote.New(remote.Config{Policy: giturl.Policy{AllowPrivate: cfg.ReposAllowPrivate}, TLS: tlsConf,
		Interval: cfg.ReposPollInterval, Allow: cfg.ReposAllow, Quota: cfg.ReposQuota, BuildMinutes: cfg.ReposBuildMinutes, BaseURL: cfg.BaseURL()},
		remote.Deps{Store: d.Store, Inbox: inbox, CacheDir: datadir.Dir(cfg.Data).Cache(), Logger: d.Logger, Now: d.Now})
}

// Remotes is the stage of repositories by URL.
func (s *Service) Remotes() *remote.Remotes { return s.remotes }

// Inbox is where the forges' webhook handlers store accepted events.
func (s *Service) Inbox() forge.Inbox { return s.events.Inbox() }

// WorkerDeps are a worker's parts beside the Service.
type WorkerDeps struct {
	Executor builder.Executor
	Logs     store.LogStream
	// ID names the worker in leases and in the jobs it runs; unique per process.
	ID string
}

// NewWorker returns a worker of svc running cfg.Workers jobs at once. Its executor's engine
// also tells the event stage the SDK images' digests, which reuse needs.
func NewWorker(svc *Service, d WorkerDeps) (*jobs.Worker, error) {
	c := svc.cfg
	if id, ok := d.Executor.(model.ImageDigester); ok {
		svc.images.set(id)
	}
	size, _ := c.WorkspaceBytes() // checked with the configuration
	return jobs.New(jobs.Config{Workers: c.Workers, JobTimeout: c.JobTimeout, WorkspaceSize: size, ShutdownGrace: c.ShutdownGrace,
		VisibilityTime: c.VisibilityTime, Registry: c.Registry, Image: c.Image},
		jobs.Deps{Store: svc.store, Queue: svc.queue, Forges: svc.forges, Catalogue: svc.catalogues,
			Reporter: svc.report, Publisher: svc.publish, Data: datadir.Dir(c.Data),
			Executor: d.Executor, Logs: d.Logs, ID: d.ID, Logger: svc.log, Now: svc.now})
}

// WorkerLabel marks every build container with the worker process that made it.
const WorkerLabel = jobs.WorkerLabel

// WorkerID names this process's worker: host and pid.
func WorkerID() string { return jobs.WorkerID() }

// imageDigests is the engine that tells image digests to the event stage: the executor of this
// process's worker, which may start after the service. None (serve without workers): no
// result is reused.
type imageDigests struct {
	mu sync.Mutex
	d  model.ImageDigester
}

func (i *imageDigests) set(d model.ImageDigester) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.d = d
}

func (i *imageDigests) ImageDigest(ctx context.Context, ref string) (string, error) {
	i.mu.Lock()
	d := i.d
	i.mu.Unlock()
	if d == nil {
		return "", nil
	}
	return d.ImageDigest(ctx, ref)
}
