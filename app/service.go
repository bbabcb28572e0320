package app

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
)

// Service turns forge events into builds, jobs and reports. It holds no state of its own beyond
// its dependencies: everything durable is in the store and the queue, so several Services (serve
// replicas) can share them.
type Service struct {
	cfg       Config
	store     store.Store
	queue     queue.Queue
	forges    map[forge.Name]forge.Forge
	catalogue *builder.Catalogue
	feeds     FeedPublisher
	keys      *keys.Ring
	tokens    *keys.Tokens
	locker    store.Locker
	guard     *keys.ReadGuard
	log       *slog.Logger
	metrics   *metrics.Metrics
	now       func() time.Time
	wake      chan struct{}
	retries   eventRetries
}

// Deps are the parts a Service is made of; cmd wires them.
type Deps struct {
	Store     store.Store
	Queue     queue.Queue
	Forges    []forge.Forge
	Catalogue *builder.Catalogue
	Feeds     FeedPublisher
	Keys      *keys.Ring
	Tokens    *keys.Tokens
	Locker    store.Locker // nil: locks within this process only
	Logger    *slog.Logger
	Metrics   *metrics.Metrics
	Now       func() time.Time
}

// NewService checks deps and returns a Service; Run starts its event loop.
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
	s := &Service{
		cfg: cfg, store: d.Store, queue: d.Queue, forges: map[forge.Name]forge.Forge{},
		catalogue: d.Catalogue, feeds: d.Feeds, keys: d.Keys, tokens: d.Tokens, locker: d.Locker, log: d.Logger, metrics: d.Metrics, now: d.Now,
		wake:  make(chan struct{}, 1),
		guard: &keys.ReadGuard{Tokens: d.Tokens, Repos: d.Store, Admin: cfg.AdminToken.Reveal(), Now: d.Now},
	}
	for _, f := range d.Forges {
		s.forges[f.Name()] = f
	}
	return s, nil
}

// Inbox is where the forges' webhook handlers store accepted events.
func (s *Service) Inbox() forge.Inbox {
	return &inbox{store: s.store, wake: s.Wake}
}

// Wake makes the event loop look for new events now rather than at its next tick.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) forge(name forge.Name) (forge.Forge, error) {
	f, ok := s.forges[name]
	if !ok {
		return nil, fmt.Errorf("no %s forge is configured: set its OPENWRT_PPA_%s_* settings", name, upper(string(name)))
	}
	return f, nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// enqueue puts a job on the queue.
func (s *Service) enqueue(ctx context.Context, jobID int64) error {
	return s.queue.Enqueue(ctx, strconv.FormatInt(jobID, 10), nil)
}
