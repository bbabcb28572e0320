package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/app/report"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Config is what the event stage is told.
type Config struct {
	// Shared is set when several replicas share the store (Redis mode): an event read may have
	// been handled by another meanwhile.
	Shared     bool
	Registry   string        // SDK image registry or mirror
	Image      string        // SDK image override for every job
	QueueLimit int           // queued jobs beyond which a job's check says its position
	PRFeedTTL  time.Duration // how long a closed pull request's feed stays
}

// Deps are the parts the event stage works with.
type Deps struct {
	Store     store.Store
	Queue     queue.Queue
	Forges    model.Forges
	Catalogue builder.CatalogueProvider
	Reporter  *report.Reporter
	Publisher *publish.Publisher
	Data      datadir.Dir
	Locker    store.Locker
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
	Now       func() time.Time
	// Images tells the SDK images' digests (the executor's engine); nil, or one that does not
	// know an image, makes its jobs' results not reusable.
	Images model.ImageDigester
	// Quota bounds the builds by hand; nil: none.
	Quota Quota
}

// Processor turns stored forge events into builds, jobs and their first reports. It holds no
// state beyond retry times: everything durable is in the store and the queue, so several
// Processors (serve replicas) can share them.
type Processor struct {
	cfg       Config
	store     store.Store
	queue     queue.Queue
	forges    model.Forges
	catalogue builder.CatalogueProvider
	report    *report.Reporter
	publish   *publish.Publisher
	data      datadir.Dir
	locker    store.Locker
	log       *slog.Logger
	metrics   *metrics.Metrics
	now       func() time.Time
	wake      chan struct{}
	retries   eventRetries
	images    model.ImageDigester
	quota     Quota
}

// New returns the event stage; Run starts its loop.
func New(cfg Config, d Deps) (*Processor, error) {
	if d.Store == nil || d.Queue == nil || d.Reporter == nil || d.Publisher == nil || d.Catalogue == nil || d.Locker == nil {
		return nil, errors.New("the event stage needs a store, a queue, a reporter, a publisher, a locker and the SDK catalogue")
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
	return &Processor{cfg: cfg, store: d.Store, queue: d.Queue, forges: d.Forges, catalogue: d.Catalogue,
		report: d.Reporter, publish: d.Publisher, data: d.Data, locker: d.Locker, log: d.Logger,
		metrics: d.Metrics, now: d.Now, wake: make(chan struct{}, 1), images: d.Images, quota: d.Quota}, nil
}

// Inbox is where the forges' webhook handlers store accepted events.
func (s *Processor) Inbox() forge.Inbox {
	return &inbox{store: s.store, wake: s.Wake, log: s.log, now: s.now}
}

// Wake makes the event loop look for new events now rather than at its next tick.
func (s *Processor) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Handle does what one event asks. Errors are logged by the caller; users learn of problems
// through check runs and comments.
func (s *Processor) Handle(ctx context.Context, ev *forge.Event) error {
	return s.handle(ctx, ev, time.Time{})
}

func (s *Processor) handle(ctx context.Context, ev *forge.Event, received time.Time) error {
	r := &eventRun{Processor: s, ev: ev, received: received,
		log: s.log.With("delivery", ev.DeliveryID, "forge", ev.Forge, "kind", ev.Kind, "repo", ev.Repo.FullName())}
	if c, ok := s.forges[ev.Forge].(forge.Confirmer); ok {
		// The delivery's word is not enough on this forge (one webhook secret for many
		// projects): what is built is what its API says.
		confirmed, err := c.Confirm(ctx, *ev)
		if errors.Is(err, forge.ErrUnconfirmed) {
			r.log.Warn("delivery dropped: the forge's API does not confirm it", "err", err)
			return nil
		}
		if err != nil {
			return model.Retry(fmt.Errorf("confirming the delivery with the forge: %w", err))
		}
		r.ev = &confirmed
	}
	switch r.ev.Kind {
	case forge.KindPing:
		return nil
	case forge.KindInstalled, forge.KindReposAdded:
		return r.registerRepos(ctx)
	case forge.KindUninstalled, forge.KindReposRemoved:
		return r.disableRepos(ctx)
	case forge.KindPush:
		return r.onPush(ctx)
	case forge.KindTag:
		return r.onTag(ctx)
	case forge.KindBranchDeleted, forge.KindTagDeleted:
		return r.onRefDeleted(ctx)
	case forge.KindPullOpened, forge.KindPullUpdated, forge.KindPullReopened:
		return r.onPull(ctx)
	case forge.KindPullClosed:
		return r.onPullClosed(ctx)
	case forge.KindRebuild, forge.KindRebuildFailed:
		return r.onRebuildComment(ctx)
	case forge.KindCommentReply:
		return r.reply(ctx, ev.Reply)
	case forge.KindCheckRerun:
		return r.onRerun(ctx)
	}
	r.log.Info("event kind not handled")
	return nil
}

// eventRun is the handling of one event: the event and a logger that names its delivery, so
// every line of its work says what it belongs to.
type eventRun struct {
	*Processor
	ev       *forge.Event
	log      *slog.Logger
	received time.Time // when the webhook was stored; zero for work not from a webhook
	reported bool      // the first check of this event was sent
}
