package upkeep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Config is what the janitor is told.
type Config struct {
	KeepBuilds int           // build logs kept per ref; 0: all
	PRFeedTTL  time.Duration // how long a closed pull request's feed stays
}

// Deps are the janitor's parts.
type Deps struct {
	Store  store.Store
	Queue  queue.Queue
	Feeds  publish.Feeds // nil: no feeds to tidy
	Data   datadir.Dir
	Logger *slog.Logger
	Now    func() time.Time
}

// Janitor tidies behind the other stages. Every replica may run one: each step is safe to run
// twice at once.
type Janitor struct {
	cfg   Config
	store store.Store
	queue queue.Queue
	feeds publish.Feeds
	data  datadir.Dir
	log   *slog.Logger
	now   func() time.Time
}

// New returns a janitor; Run starts it.
func New(cfg Config, d Deps) *Janitor {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Janitor{cfg: cfg, store: d.Store, queue: d.Queue, feeds: d.Feeds, data: d.Data, log: d.Logger, now: d.Now}
}

// RemoveExpiredPRFeeds removes the feeds of pull requests closed longer than the configured time
// ago and returns how many it removed.
func (s *Janitor) RemoveExpiredPRFeeds(ctx context.Context) (int, error) {
	closed, err := s.data.ClosedPRs()
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, c := range closed {
		if s.now().Sub(c.Since) < s.cfg.PRFeedTTL {
			continue
		}
		repo, err := s.store.Repository(ctx, c.RepoID)
		if err == nil && s.feeds != nil {
			err = s.feeds.RemoveRef(ctx, model.FeedRef(repo, store.PRRef(c.Number), "", ""))
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("removing feed of pull request %d of repository %d: %w", c.Number, c.RepoID, err))
			continue
		}
		s.data.Unmark(c)
		removed++
	}
	return removed, errors.Join(errs...)
}

// janitorEvery is how often expired pull request feeds and old logs are looked for.
const janitorEvery = 10 * time.Minute

// Run removes expired pull request feeds, superseded package files, old build logs, artifacts
// and events, and queues jobs that were never queued, every janitorEvery until ctx ends.
func (s *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(janitorEvery)
	defer t.Stop()
	for {
		if n, err := s.RemoveExpiredPRFeeds(ctx); err != nil {
			s.log.Warn("removing expired pull request feeds", "err", err)
		} else if n > 0 {
			s.log.Info("expired pull request feeds removed", "count", n)
		}
		if sw, ok := s.feeds.(interface {
			Sweep(context.Context) (int, error)
		}); ok {
			if n, err := sw.Sweep(ctx); err != nil {
				s.log.Warn("sweeping superseded package files", "err", err)
			} else if n > 0 {
				s.log.Info("superseded package files removed after their grace period", "count", n)
			}
		}
		// Jobs created but never queued (the queue failed at that moment) are queued now.
		if n, err := s.Reconcile(ctx, false); err != nil {
			s.log.Warn("reconciling the queue with the store", "err", err)
		} else if n > 0 {
			s.log.Debug("pending jobs checked against the queue", "count", n)
		}
		if n, err := s.store.PruneEvents(ctx, s.now().Add(-eventRetention)); err != nil {
			s.log.Warn("pruning old webhook events", "err", err)
		} else if n > 0 {
			s.log.Info("old webhook events pruned", "count", n)
		}
		if n, err := s.PruneArtifacts(); err != nil {
			s.log.Warn("pruning kept packages", "err", err)
		} else if n > 0 {
			s.log.Info("kept packages of old jobs removed", "count", n)
		}
		if n, err := s.PruneLogs(ctx); err != nil {
			s.log.Warn("pruning build logs", "err", err)
		} else if n > 0 {
			s.log.Info("old build logs removed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PruneLogs deletes the logs of builds older than the newest KeepBuilds of their ref, for every
// repository, and returns how many it deleted.
func (s *Janitor) PruneLogs(ctx context.Context) (int, error) {
	if s.cfg.KeepBuilds <= 0 {
		return 0, nil
	}
	repos, err := s.store.ListRepositories(ctx, store.RepositoryQuery{IncludeDisabled: true, Limit: 100000})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range repos {
		jobs, err := s.store.ExpiredLogs(ctx, r.ID, s.cfg.KeepBuilds)
		if err != nil {
			return n, err
		}
		for _, j := range jobs {
			// LogPath is made of numbers by datadir.JobLogPath; refuse anything else.
			if strings.Contains(j.LogPath, "..") || filepath.IsAbs(j.LogPath) {
				continue
			}
			if err := os.Remove(filepath.Join(s.data.Logs(), j.LogPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return n, err
			}
			if _, err := s.store.UpdateJob(ctx, j.ID, func(sj *store.Job) error { sj.LogPath = ""; return nil }); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// eventRetention is how long processed webhook events are kept: redeliveries within it are
// recognised as duplicates, and the inbox refuses deliveries sent before it.
const eventRetention = model.ReplayWindow

// artifactRetention is how long a job's built packages are kept for reuse by an identical job.
const artifactRetention = 30 * 24 * time.Hour

// PruneArtifacts removes kept packages older than the retention; a job that would have reused
// them builds again. It returns how many folders it removed.
func (s *Janitor) PruneArtifacts() (int, error) {
	dir := s.data.ArtifactsRoot()
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !e.IsDir() || s.now().Sub(info.ModTime()) < artifactRetention {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
