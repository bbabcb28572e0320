package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// FeedPublisher is what the orchestration needs of the feed storage.
type FeedPublisher interface {
	// Publish makes the feed ref list the packages in files (full paths of .ipk files), newer
	// versions replacing older ones; with exact, packages not among files leave the feed (a
	// branch feed mirrors its latest build). It signs the index with the key of the ref's kind.
	// It returns the packages the feed now lists from files, and those refused with why.
	Publish(ctx context.Context, ref feeds.FeedRef, files []string, exact bool) ([]packageResult, error)
	// RemoveRef deletes every feed of a branch, tag or pull request (all series and archs).
	RemoveRef(ctx context.Context, ref feeds.FeedRef) error
}

// reuseJob ends a job with the result of an identical job that succeeded before, publishing its
// packages into this build's feed: no container runs.
func (s *Service) reuseJob(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, prev store.Job) error {
	var res jobResult
	if err := json.Unmarshal(prev.Result, &res); err != nil || res.Artifacts == "" {
		// Nothing to publish from: build it after all.
		return s.queueJob(ctx, repo, b, j)
	}
	files, err := s.artifactFiles(res.Artifacts)
	if err != nil || len(files) == 0 {
		return s.queueJob(ctx, repo, b, j)
	}
	if s.feeds != nil {
		if _, err := s.feeds.Publish(ctx, feedRef(repo, b.Ref, j.Series, j.Arch), files, true); err != nil {
			return fmt.Errorf("publishing reused result of job %d: %w", prev.ID, err)
		}
	}
	res.ReusedFrom = prev.ID
	_, err = s.store.UpdateJob(ctx, j.ID, func(sj *store.Job) error { sj.LogPath = prev.LogPath; return nil })
	if err != nil {
		return err
	}
	return s.finishJob(ctx, repo, b, j, jobOutcome{status: store.StatusSuccess,
		title:  fmt.Sprintf("%d packages (reused)", countBuilt(res.Packages)),
		text:   fmt.Sprintf("Commit, configuration and SDK are the same as in job %d, so its packages were published again without building.", prev.ID),
		result: &res})
}

func countBuilt(ps []packageResult) int {
	n := 0
	for _, p := range ps {
		if p.Status == "built" {
			n++
		}
	}
	return n
}

// queueJob puts a job on the queue and reports it queued.
func (s *Service) queueJob(ctx context.Context, repo store.Repository, b store.Build, j *store.Job) error {
	if err := s.queue.Enqueue(ctx, j.ID); err != nil {
		return fmt.Errorf("queueing: %w", err)
	}
	return s.reportJob(ctx, repo, b, j, "queued", "queued", "")
}

func (r *eventRun) onRefDeleted(ctx context.Context) error {
	repo, err := r.repository(ctx)
	if err != nil {
		return err
	}
	ref := store.Ref{Kind: store.RefBranch, Name: r.ev.Branch()}
	if r.ev.Tag() != "" {
		ref = store.Ref{Kind: store.RefTag, Name: r.ev.Tag()}
	}
	if ref.Name == "" || r.feeds == nil {
		return nil
	}
	if err := r.feeds.RemoveRef(ctx, feedRef(repo, ref, "", "")); err != nil {
		return fmt.Errorf("removing feeds of %s: %w", ref, err)
	}
	r.log.Info("feeds removed", "ref", ref.String())
	return nil
}

func (r *eventRun) onPullClosed(ctx context.Context) error {
	repo, err := r.repository(ctx)
	if err != nil {
		return err
	}
	r.cancelOlder(ctx, repo, store.Build{Ref: store.PRRef(r.ev.PullNumber()), ID: 1 << 62})
	return r.schedulePRRemoval(ctx, repo, r.ev.PullNumber())
}
