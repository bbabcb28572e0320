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

// refusal is a build by hand that may not start for a reason its asker can mend. Its message
// is shown alone (the web page, the API, a Build resource's status), so it says what to do and
// carries no word of the store's ("invalid record"); it is a store.ErrInvalid all the same, so
// the API answers it 409 and a Build resource shows it as refused.
type refusal struct{ why string }

func (e *refusal) Error() string        { return e.why }
func (e *refusal) Is(target error) bool { return target == store.ErrInvalid }

// refusalf is a *refusal with a formatted message.
func refusalf(format string, args ...any) error { return &refusal{why: fmt.Sprintf(format, args...)} }

// quotaError is a build by hand that the quota refused: a refusal that the comment handlers
// tell apart, to answer it as the quota's.
type quotaError struct{ refusal }

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
		return &quotaError{refusal{why: why}}
	}
	return nil
}
