package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// prClosedDir holds one marker file per closed pull request whose feed is still up: its name is
// "<repo id>-<number>", its modification time when the request closed. The data dir is shared by
// every process in Redis mode, so any replica's janitor can remove the feed when its time comes.
func (s *Service) prClosedDir() string { return filepath.Join(s.cfg.Data, "cache", "pr-closed") }

func (r *eventRun) schedulePRRemoval(ctx context.Context, repo store.Repository, number int) error {
	if number <= 0 {
		return nil
	}
	dir := r.prClosedDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := filepath.Join(dir, strconv.FormatInt(repo.ID, 10)+"-"+strconv.Itoa(number))
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		return fmt.Errorf("scheduling removal of the feed of pull request %d: %w", number, err)
	}
	now := r.now()
	if err := os.Chtimes(name, now, now); err != nil {
		return err
	}
	r.log.Info("pull request closed; its feed will be removed", "pr", number, "after", r.cfg.PRFeedTTL)
	return nil
}

// unschedulePRRemoval keeps a reopened pull request's feed.
func (s *Service) unschedulePRRemoval(repoID int64, number int) {
	_ = os.Remove(filepath.Join(s.prClosedDir(), strconv.FormatInt(repoID, 10)+"-"+strconv.Itoa(number)))
}

// RemoveExpiredPRFeeds removes the feeds of pull requests closed longer than the configured time
// ago and returns how many it removed.
func (s *Service) RemoveExpiredPRFeeds(ctx context.Context) (int, error) {
	ents, err := os.ReadDir(s.prClosedDir())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, e := range ents {
		idPart, numPart, ok := strings.Cut(e.Name(), "-")
		repoID, err1 := strconv.ParseInt(idPart, 10, 64)
		number, err2 := strconv.Atoi(numPart)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		info, err := e.Info()
		if err != nil || s.now().Sub(info.ModTime()) < s.cfg.PRFeedTTL {
			continue
		}
		repo, err := s.store.Repository(ctx, repoID)
		if err == nil && s.feeds != nil {
			err = s.feeds.RemoveRef(ctx, feedRef(repo, store.PRRef(number), "", ""))
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("removing feed of pull request %d of repository %d: %w", number, repoID, err))
			continue
		}
		_ = os.Remove(filepath.Join(s.prClosedDir(), e.Name()))
		removed++
	}
	return removed, errors.Join(errs...)
}

// janitorEvery is how often expired pull request feeds and old logs are looked for.
const janitorEvery = 10 * time.Minute

// RunJanitor removes expired pull request feeds and old build logs until ctx ends.
func (s *Service) RunJanitor(ctx context.Context) {
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
func (s *Service) PruneLogs(ctx context.Context) (int, error) {
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
			// LogPath is made of numbers by jobLogPath; refuse anything else.
			if strings.Contains(j.LogPath, "..") || filepath.IsAbs(j.LogPath) {
				continue
			}
			if err := os.Remove(filepath.Join(s.logsPath(), j.LogPath)); err != nil && !errors.Is(err, os.ErrNotExist) {
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
// recognised as duplicates.
const eventRetention = 30 * 24 * time.Hour

// artifactRetention is how long a job's built packages are kept for reuse by an identical job.
const artifactRetention = 30 * 24 * time.Hour

// PruneArtifacts removes kept packages older than the retention; a job that would have reused
// them builds again. It returns how many folders it removed.
func (s *Service) PruneArtifacts() (int, error) {
	dir := filepath.Join(s.cachePath(), "artifacts")
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
