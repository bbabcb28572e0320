package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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
