package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// monthStart is the first instant of t's month, UTC: build minutes are counted per calendar
// month.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// minutesUsed is the build time the repositories by URL that addedBy added took since the
// start of the month: every job's run time (a running one's so far), as CI services count.
func (r *Remotes) minutesUsed(ctx context.Context, addedBy string, now time.Time) (time.Duration, error) {
	all, err := r.store.ListRemotes(ctx)
	if err != nil {
		return 0, err
	}
	since := monthStart(now)
	var used time.Duration
	for _, rem := range all {
		if rem.AddedBy != addedBy {
			continue
		}
		var before int64
	pages:
		for {
			bs, err := r.store.ListBuilds(ctx, store.BuildQuery{RepoID: rem.RepoID, Before: before})
			if err != nil {
				return 0, err
			}
			for _, b := range bs {
				if b.Created.Before(since) {
					break pages // newest first: the rest are older
				}
				jobs, err := r.store.JobsOfBuild(ctx, b.ID)
				if err != nil {
					return 0, err
				}
				for _, j := range jobs {
					used += jobTime(j, since, now)
				}
			}
			if len(bs) == 0 {
				break
			}
			before = bs[len(bs)-1].ID
		}
	}
	return used, nil
}

// jobTime is how long a job ran within [since, now].
func jobTime(j store.Job, since, now time.Time) time.Duration {
	if j.Started.IsZero() {
		return 0
	}
	start, end := j.Started, j.Finished
	if end.IsZero() {
		end = now
	}
	if start.Before(since) {
		start = since
	}
	return max(end.Sub(start), 0)
}

// BuildRefusal says why a build of repo may not start now ("" when it may): it is a repository
// by URL whose adder used up this month's build minutes. The event stage asks it before every
// build by hand, as Poll does before it hands on new commits.
func (r *Remotes) BuildRefusal(ctx context.Context, repo store.Repository) (string, error) {
	if repo.Forge != string(Name) {
		return "", nil
	}
	rem, err := r.store.Remote(ctx, repo.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return r.quotaRefusal(ctx, rem)
}

// quotaRefusal says why the builds of rem wait ("" when they need not): the user who added it
// used up this month's build minutes. Admins have no quota.
func (r *Remotes) quotaRefusal(ctx context.Context, rem store.Remote) (string, error) {
	limit := time.Duration(r.cfg.BuildMinutes) * time.Minute
	if limit <= 0 || rem.AddedBy == "" || rem.AddedBy == AddedByAdmin {
		return "", nil
	}
	now := r.now()
	used, err := r.minutesUsed(ctx, rem.AddedBy, now)
	if err != nil || used < limit {
		return "", err
	}
	next := monthStart(now).AddDate(0, 1, 0)
	return fmt.Sprintf("the build minutes of this month are used up: the repositories %s added built for %d of the %d minutes a user has (--repos-build-minutes); builds start again from %s (UTC), or ask the operator to raise the limit",
		rem.AddedBy, int(used/time.Minute), r.cfg.BuildMinutes, next.Format("2006-01-02")), nil
}
