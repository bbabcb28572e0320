package events

import (
	"context"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Quota is the build-minutes seam: whether a repository may start a build now. Every build by
// hand (the web's and the API's Rebuild, a Build resource, a `/rebuild` comment, a re-run) asks
// it, as the poller asks before it hands on a push, so a user who used up their minutes cannot
// go on building by clicking.
type Quota interface {
	// BuildRefusal says why repo may not build now, "" when it may. The reason names the
	// minutes used, the limit, when they come back and what to do. An error means the minutes
	// could not be counted: nothing is started then.
	BuildRefusal(ctx context.Context, repo store.Repository) (string, error)
}

// quotaError is a build by hand that the quota refused. It is a store.ErrInvalid, so the API
// answers it 409 with its reason and a Build resource shows it as refused.
type quotaError struct{ why string }

func (e *quotaError) Error() string        { return e.why }
func (e *quotaError) Is(target error) bool { return target == store.ErrInvalid }

// checkQuota returns a *quotaError when the quota refuses a build of repo now.
func (r *eventRun) checkQuota(ctx context.Context, repo store.Repository) error {
	if r.quota == nil {
		return nil
	}
	why, err := r.quota.BuildRefusal(ctx, repo)
	if err != nil {
		return model.Retry(fmt.Errorf("counting the build minutes of %s: %w", repo.Path(), err))
	}
	if why != "" {
		r.log.Info("build by hand refused by the quota", "why", why)
		return &quotaError{why: why}
	}
	return nil
}
