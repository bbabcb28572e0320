package events

import (
	"context"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func (r *eventRun) onRefDeleted(ctx context.Context) error {
	repo, err := r.repository(ctx)
	if err != nil {
		return err
	}
	ref := store.Ref{Kind: store.RefBranch, Name: r.ev.Branch()}
	if r.ev.Tag() != "" {
		ref = store.Ref{Kind: store.RefTag, Name: r.ev.Tag()}
	}
	if ref.Name == "" || r.publish.Feeds == nil {
		return nil
	}
	if f, err := r.forges.Get(r.ev.Forge); err == nil {
		if rc, ok := f.(forge.RefChecker); ok {
			exists, err := rc.RefExists(ctx, r.ev.Repo, r.ev.Ref)
			if err != nil {
				return model.Retry(err)
			}
			if exists {
				r.log.Warn("deletion of a ref that still exists at the forge; feeds kept", "ref", r.ev.Ref)
				return nil
			}
		}
	}
	// Stop its builds first, so none publishes the feed again after it is removed.
	r.cancelOlder(ctx, repo, store.Build{Ref: ref, ID: 1 << 62}, nil, "The "+string(ref.Kind)+" was deleted.")
	if err := r.publish.Feeds.RemoveRef(ctx, model.FeedRef(repo, ref, "", "")); err != nil {
		return fmt.Errorf("removing feeds of %s: %w", ref, err)
	}
	r.log.Info("feeds removed", "ref", ref.String())
	if ref.Kind == store.RefTag {
		if err := r.publish.RefreshLatest(ctx, repo); err != nil {
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
	return r.schedulePRRemoval(repo, r.ev.PullNumber())
}

// schedulePRRemoval marks a closed pull request, so the janitor removes its feed after the
// configured time.
func (r *eventRun) schedulePRRemoval(repo store.Repository, number int) error {
	if number <= 0 {
		return nil
	}
	if err := r.data.MarkPRClosed(repo.ID, number, r.now()); err != nil {
		return err
	}
	r.log.Info("pull request closed; its feed will be removed", "pr", number, "after", r.cfg.PRFeedTTL)
	return nil
}
