package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// FeedPublisher is what the orchestration needs of the feed storage.
type FeedPublisher interface {
	// Publish changes the feed ref of repo and re-signs it with the key of the ref's kind.
	// Refused packages are in the result; the error means the feed was left as it was.
	Publish(ctx context.Context, repo store.Repository, ref feeds.FeedRef, req PublishFiles) (*feeds.PublishResult, error)
	// List returns the packages the feed lists now.
	List(ctx context.Context, ref feeds.FeedRef) ([]feeds.PackageInfo, error)
	// RemoveRef deletes every feed of a branch, tag or pull request (all series and archs).
	RemoveRef(ctx context.Context, ref feeds.FeedRef) error
}

// PublishFiles is one change of a feed.
type PublishFiles struct {
	Add       []string // .ipk files to publish
	Remove    []string // package names that leave the feed
	IndexJSON int      // the index.json version of the series' SDK
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
	known := make([]string, 0, len(res.Packages))
	for _, p := range res.Packages {
		known = append(known, p.Name)
	}
	if _, err := s.publishJob(ctx, repo, b, j, files, known, res.IndexJSON); err != nil {
		s.log.Warn("publishing a reused result failed; building instead", "job", j.ID, "reused", prev.ID, "err", err)
		return s.queueJob(ctx, repo, b, j)
	}
	// The reused job's log stays with that job (retention deletes it with its build); this
	// one's result names it.
	res.ReusedFrom = prev.ID
	return s.finishJob(ctx, repo, b, j, jobOutcome{status: store.StatusSuccess,
		title:  fmt.Sprintf("%d packages (reused)", countBuilt(res.Packages)),
		text:   fmt.Sprintf("Commit, configuration and SDK are the same as in job %d, so its packages were published again without building.", prev.ID),
		result: &res})
}

// publishJob puts a job's packages into the feed of its build's ref. Packages the repository no
// longer defines (not in known) leave the feed; a package that failed keeps its last good version.
// A tag's packages also go to the repository's "latest" feed when the tag is its newest.
func (s *Service) publishJob(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, files, known []string, indexJSON int) (*feeds.PublishResult, error) {
	if s.feeds == nil {
		return nil, fmt.Errorf("no feed storage configured")
	}
	if err := s.checkQuota(repo, files); err != nil {
		return nil, err
	}
	ref := feedRef(repo, b.Ref, j.Series, j.Arch)
	res, err := s.publishMirror(ctx, repo, ref, files, known, indexJSON)
	defer s.measureFeeds(repo)
	if err != nil || b.Ref.Kind != store.RefTag {
		return res, err
	}
	newest, err := s.newestTag(ctx, repo, b)
	if err != nil || newest != b.Ref.Name {
		return res, err
	}
	latest := ref
	latest.Kind, latest.Name = feeds.LatestFeed, ""
	if _, err := s.publishMirror(ctx, repo, latest, files, nil, indexJSON); err != nil {
		return res, fmt.Errorf("updating the latest feed: %w", err)
	}
	return res, nil
}

// publishMirror publishes files into ref, removing packages not in known (or, without known,
// every package the files do not bring: the latest feed is exactly its tag).
func (s *Service) publishMirror(ctx context.Context, repo store.Repository, ref feeds.FeedRef, files, known []string, indexJSON int) (*feeds.PublishResult, error) {
	current, err := s.feeds.List(ctx, ref)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, k := range known {
		keep[k] = true
	}
	if known == nil {
		for _, f := range files {
			if name, _, ok := strings.Cut(filepath.Base(f), "_"); ok {
				keep[name] = true
			}
		}
	}
	var remove []string
	for _, p := range current {
		if !keep[p.Name] && !slices.Contains(remove, p.Name) {
			remove = append(remove, p.Name)
		}
	}
	return s.feeds.Publish(ctx, repo, ref, PublishFiles{Add: files, Remove: remove, IndexJSON: indexJSON})
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
	if err := s.enqueue(ctx, j.ID); err != nil {
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
	if f, err := r.forge(r.ev.Forge); err == nil {
		if rc, ok := f.(forge.RefChecker); ok {
			exists, err := rc.RefExists(ctx, r.ev.Repo, r.ev.Ref)
			if err != nil {
				return retry(err)
			}
			if exists {
				r.log.Warn("deletion of a ref that still exists at the forge; feeds kept", "ref", r.ev.Ref)
				return nil
			}
		}
	}
	// Stop its builds first, so none publishes the feed again after it is removed.
	r.cancelOlder(ctx, repo, store.Build{Ref: ref, ID: 1 << 62}, nil, "The "+string(ref.Kind)+" was deleted.")
	if err := r.feeds.RemoveRef(ctx, feedRef(repo, ref, "", "")); err != nil {
		return fmt.Errorf("removing feeds of %s: %w", ref, err)
	}
	r.log.Info("feeds removed", "ref", ref.String())
	if ref.Kind == store.RefTag {
		if err := r.refreshLatest(ctx, repo); err != nil {
			return fmt.Errorf("refreshing the latest feed after deleting tag %s: %w", ref.Name, err)
		}
	}
	return nil
}

func (r *eventRun) onPullClosed(ctx context.Context) error {
	repo, err := r.repository(ctx)
	if err != nil {
		return err
	}
	r.cancelOlder(ctx, repo, store.Build{Ref: store.PRRef(r.ev.PullNumber()), ID: 1 << 62}, nil, "The pull request was closed.")
	return r.schedulePRRemoval(ctx, repo, r.ev.PullNumber())
}

// errOverQuota refuses a publish that would take a repository's feeds over its disk quota.
var errOverQuota = errors.New("over the repository's disk quota")

// checkQuota refuses files that would take the repository's feeds over the configured quota.
func (s *Service) checkQuota(repo store.Repository, files []string) error {
	if s.cfg.RepoQuotaMB <= 0 {
		return nil
	}
	rel, err := feeds.RepoDir(repo.Owner, repo.Name)
	if err != nil {
		return err
	}
	used, err := dirSize(filepath.Join(s.cfg.Data, "feeds", filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			used += fi.Size()
		}
	}
	if limit := s.cfg.RepoQuotaMB << 20; used > limit {
		return fmt.Errorf("%w: its feeds would use %d MB of %d MB; delete old branches or tags (their feeds go with them) or ask the operator for more", errOverQuota, used>>20, s.cfg.RepoQuotaMB)
	}
	return nil
}

// dirSize adds up the regular files below dir (0 when it does not exist).
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n, err
}

// measureFeeds sets the feed size gauge of a repository.
func (s *Service) measureFeeds(repo store.Repository) {
	rel, err := feeds.RepoDir(repo.Owner, repo.Name)
	if err != nil {
		return
	}
	if n, err := dirSize(filepath.Join(s.cfg.Data, "feeds", filepath.FromSlash(rel))); err == nil {
		label := repo.Path()
		if repo.Private {
			// /metrics is public: a private repository's name is not.
			label = "private-" + strconv.FormatInt(repo.ID, 10)
		}
		s.metrics.FeedBytes.WithLabelValues(label).Set(float64(n))
	}
}
