package publish

import (
	"context"
	"fmt"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// feedLockTTL bounds how long a dead publisher can hold a feed's lock.
const feedLockTTL = time.Minute

// FeedStore publishes into the feeds folder with the repository's keys: pull request feeds
// with the preview key, every other feed with the main key; opkg feeds with the usign pair,
// apk feeds with the apk (ECDSA) pair. Every publish and removal of a ref
// holds the ref's one lock (in Redis mode shared by every process), so two processes never write one
// feed at once.
type FeedStore struct {
	Feeds   *feeds.Store
	Keys    *keys.Ring
	Locker  store.Locker
	Metrics *metrics.Metrics
}

var _ Feeds = (*FeedStore)(nil)

// lockKey names the lock of a ref's feeds: one for every series and arch of a branch, tag or
// pull request, taken by publishing into any of them and by removing them all, so a job that
// publishes while its branch is deleted cannot bring the feed back half-way.
func lockKey(ref feeds.FeedRef) string {
	repo, err := feeds.RepoDir(ref.Owner, ref.Repo)
	if err != nil {
		repo = ref.Owner + "/" + ref.Repo
	}
	return fmt.Sprintf("feed:%s\x00%d\x00%s", repo, ref.Kind, ref.Name)
}

// Publish implements Feeds.
func (p *FeedStore) Publish(ctx context.Context, repo store.Repository, ref feeds.FeedRef, req Files) (*feeds.PublishResult, error) {
	kind := store.KeyMain
	if ref.Kind == feeds.PullRequest {
		kind = store.KeyPreview
	}
	pr := feeds.PublishRequest{Format: req.Format, Add: req.Add, Remove: req.Remove, IndexJSON: req.IndexJSON}
	var err error
	if req.Format == feeds.FormatAPK {
		pr.ADBSigner, err = p.Keys.APKSecret(ctx, repo.ID, kind)
	} else {
		pr.Signer, err = p.Keys.Secret(ctx, repo.ID, kind)
	}
	if err != nil {
		return nil, err
	}
	var res *feeds.PublishResult
	start := time.Now()
	err = store.WithLock(ctx, p.Locker, lockKey(ref), feedLockTTL, func(ctx context.Context) error {
		var err error
		res, err = p.Feeds.Publish(ctx, ref, pr)
		return err
	})
	if p.Metrics != nil {
		p.Metrics.PublishDuration.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		return nil, fmt.Errorf("publishing %s: %w", ref, err)
	}
	return res, nil
}

// List implements Feeds.
func (p *FeedStore) List(ctx context.Context, ref feeds.FeedRef) ([]feeds.PackageInfo, error) {
	return p.Feeds.List(ctx, ref)
}

// RemoveRef implements Feeds.
func (p *FeedStore) RemoveRef(ctx context.Context, ref feeds.FeedRef) error {
	return store.WithLock(ctx, p.Locker, lockKey(ref), feedLockTTL, func(ctx context.Context) error {
		return p.Feeds.RemoveRef(ctx, ref)
	})
}

// Sweep deletes superseded package files whose grace period is over, in feeds nobody publishes
// to any more (publishing sweeps its own feed).
func (p *FeedStore) Sweep(ctx context.Context) (int, error) { return p.Feeds.Sweep(ctx) }
