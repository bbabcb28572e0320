package events

import (
	"context"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// configFailed reports a configuration mistake as one failed check, so the author sees the file
// and line; other errors are returned for the event loop.
func (r *eventRun) configFailed(ctx context.Context, spec buildSpec, err error) error {
	if model.IsRetry(err) {
		return err
	}
	r.reportRefusal(ctx, model.ForgeRepo(spec.repo), spec.sha, spec.gitRef, "The repository configuration has a mistake; fix it and push again:\n\n```\n"+err.Error()+"\n```")
	return nil
}

// refused reports why a ref is not built, as one failed check.
func (r *eventRun) refused(ctx context.Context, spec buildSpec, why string) error {
	r.reportRefusal(ctx, model.ForgeRepo(spec.repo), spec.sha, spec.gitRef, why)
	return nil
}

func (r *eventRun) reportRefusal(ctx context.Context, repo forge.Repo, sha, gitRef, why string) {
	f, err := r.forges.Get(repo.Forge)
	if err != nil {
		r.log.Warn("cannot report refusal", "err", err)
		return
	}
	if _, err := f.ReportCheck(ctx, repo, forge.Check{Name: "openwrt-ppa", SHA: sha, Ref: gitRef,
		State: forge.CheckFailure, Title: "not built", Summary: forge.Truncate(why, forge.MaxSummary)}); err != nil {
		r.log.Warn("reporting refusal", "err", err)
	}
}

// reply posts a comment on the event's pull request, if it has one.
func (r *eventRun) reply(ctx context.Context, body string) error {
	n := r.ev.PullNumber()
	if n == 0 && r.ev.Comment != nil {
		n = r.ev.Comment.PullNumber
	}
	if n == 0 || body == "" {
		return nil
	}
	f, err := r.forges.Get(r.ev.Forge)
	if err != nil {
		return err
	}
	return f.Reply(ctx, r.ev.Repo, n, body)
}

func (r *eventRun) react(ctx context.Context, reaction forge.Reaction) {
	if r.ev.Comment == nil {
		return
	}
	f, err := r.forges.Get(r.ev.Forge)
	if err != nil {
		return
	}
	if err := f.React(ctx, r.ev.Repo, *r.ev.Comment, reaction); err != nil {
		r.log.Warn("adding reaction", "err", err)
	}
}
