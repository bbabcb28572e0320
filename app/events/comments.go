package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// onRebuildComment runs `/rebuild` and `/rebuild failed` for users with write access and tells
// everyone else, politely, why nothing happens.
func (r *eventRun) onRebuildComment(ctx context.Context) error {
	repo, err := r.activeRepository(ctx)
	if err != nil || repo.ID == 0 {
		return err
	}
	n := r.ev.PullNumber()
	if n == 0 && r.ev.Comment != nil {
		n = r.ev.Comment.PullNumber
	}
	if n == 0 {
		return fmt.Errorf("comment command without a pull request number")
	}
	f, err := r.forges.Get(r.ev.Forge)
	if err != nil {
		return err
	}
	ok, err := f.CanTrigger(ctx, r.ev.Repo, r.ev.Actor)
	if err != nil {
		r.log.Warn("permission lookup failed", "actor", r.ev.Actor.Login, "err", err)
		return r.reply(ctx, fmt.Sprintf("@%s, I could not check your permission on this repository just now, so nothing was rebuilt. Please comment `/rebuild` again in a few minutes.", r.ev.Actor.Login))
	}
	// Every refusal comes before the 👍, which says the build starts: a refused comment gets a
	// confused reaction and the reply that says why, never both reactions.
	refuse := func(msg string) error {
		r.react(ctx, forge.ReactionConfused)
		return r.reply(ctx, msg)
	}
	overQuota := func(q *quotaError) string {
		return fmt.Sprintf("@%s, nothing was rebuilt: %s.", r.ev.Actor.Login, q.why)
	}
	if !ok {
		return refuse(fmt.Sprintf("@%s, only people with write access to this repository can start builds. A maintainer can comment `/rebuild` to build this pull request.", r.ev.Actor.Login))
	}
	if err := r.checkQuota(ctx, repo); err != nil {
		if q := (*quotaError)(nil); errors.As(err, &q) {
			return refuse(overQuota(q))
		}
		return err
	}
	sha := r.ev.SHA
	if sha == "" {
		p, err := f.Pull(ctx, r.ev.Repo, n)
		if err != nil {
			return model.Retry(fmt.Errorf("looking up pull request %d: %w", n, err))
		}
		sha = p.HeadSHA
		r.ev.Pull = &p
		if why := r.headMovedAfter(repo, n, sha); why != "" {
			r.log.Info("/rebuild not run: the head moved after the comment", "head", sha)
			return refuse(fmt.Sprintf("@%s, %s, so nothing was built on your word. Look at the new commits and comment `/rebuild` again to build them.", r.ev.Actor.Login, why))
		}
	}
	var only map[string]bool
	if r.ev.Kind == forge.KindRebuildFailed {
		only, err = r.failedCells(ctx, repo, store.PRRef(n))
		if err != nil {
			return err
		}
		if len(only) == 0 {
			return refuse("The latest build of this pull request has no failed jobs: nothing to rebuild. Comment `/rebuild` to rebuild everything.")
		}
	}
	r.react(ctx, forge.ReactionThumbsUp)
	// startRef asks the quota again; it refuses now only if the minutes ran out just now.
	_, err = r.startRef(ctx, repo, store.PRRef(n), sha, store.TriggerComment, true, only)
	if q := (*quotaError)(nil); errors.As(err, &q) {
		return r.reply(ctx, overQuota(q))
	}
	return err
}

// failedCells are the "<series>/<arch>" of the failed jobs of a ref's latest build.
func (r *eventRun) failedCells(ctx context.Context, repo store.Repository, ref store.Ref) (map[string]bool, error) {
	b, err := r.store.LatestBuild(ctx, repo.ID, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, model.Retry(err)
	}
	jobs, err := r.store.JobsOfBuild(ctx, b.ID)
	if err != nil {
		return nil, model.Retry(err)
	}
	only := map[string]bool{}
	for _, j := range jobs {
		switch j.Status {
		case store.StatusFailure, store.StatusTimedOut, store.StatusCancelled:
			only[j.Series+"/"+j.Arch] = true
		}
	}
	return only, nil
}

// onRerun answers the forge's "Re-run" button: one check re-runs its job, a suite re-runs the
// commit's whole build. Results are never reused for a re-run.
func (r *eventRun) onRerun(ctx context.Context) error {
	repo, err := r.activeRepository(ctx)
	if err != nil || repo.ID == 0 {
		return err
	}
	var only map[string]bool
	ref, sha := store.Ref{}, r.ev.SHA
	if r.ev.Check != nil && r.ev.Check.ExternalID != "" {
		id, perr := strconv.ParseInt(r.ev.Check.ExternalID, 10, 64)
		j, err := r.store.Job(ctx, id)
		if perr == nil && err == nil {
			if b, err := r.store.Build(ctx, j.BuildID); err == nil && b.RepoID == repo.ID {
				ref, sha = b.Ref, b.CommitSHA
				if r.ev.Check.ID != 0 {
					only = map[string]bool{j.Series + "/" + j.Arch: true}
				}
			}
		}
	}
	if ref.Kind == "" {
		switch {
		case r.ev.PullNumber() > 0:
			ref = store.PRRef(r.ev.PullNumber())
		case r.ev.Tag() != "":
			ref = store.Ref{Kind: store.RefTag, Name: r.ev.Tag()}
		case r.ev.Branch() != "":
			ref = store.Ref{Kind: store.RefBranch, Name: r.ev.Branch()}
		default:
			r.log.Info("re-run of a check this service does not know; nothing to do")
			return nil
		}
	}
	_, err = r.startRef(ctx, repo, ref, sha, store.TriggerRerun, true, only)
	if q := (*quotaError)(nil); errors.As(err, &q) {
		return r.refused(ctx, buildSpec{repo: repo, ref: ref, gitRef: model.GitRef(ref), sha: sha}, "Not re-run: "+q.why+".")
	}
	return err
}

// startRef starts a build of ref at sha, reusing identical jobs' results unless forced: the way
// of every build by hand, so it asks the quota first (a refusal is a *quotaError, for the
// caller to tell). It returns the ID of the build it created, 0 when it created none (the
// reason reported).
func (r *eventRun) startRef(ctx context.Context, repo store.Repository, ref store.Ref, sha string, trigger store.Trigger, forced bool, only map[string]bool) (int64, error) {
	if err := r.checkQuota(ctx, repo); err != nil {
		return 0, err
	}
	if ref.Kind == store.RefPR {
		return r.buildPull(ctx, repo, ref.PRNumber(), sha, trigger, forced, only)
	}
	spec := buildSpec{repo: repo, ref: ref, gitRef: model.GitRef(ref), sha: sha, trigger: trigger,
		actor: r.ev.Actor.Login, forced: forced, only: only}
	cfg, raw, err := r.loadConfig(ctx, repo, sha)
	if err != nil {
		return 0, r.configFailed(ctx, spec, err)
	}
	// A re-run builds only what a push would have built.
	if ref.Kind == store.RefBranch && (ref.Name == "-" || !branchBuilds(cfg.Branches, ref.Name, repo.DefaultBranch)) {
		r.log.Info("re-run of a branch that does not build; nothing to do", "branch", ref.Name)
		return 0, nil
	}
	return r.startBuild(ctx, spec, cfg, raw)
}

// Rebuild starts a forced build of a ref at the commit of its latest build: the web UI's and the
// API's Rebuild button. actor is who asked; the caller has checked their right to.
func (s *Processor) Rebuild(ctx context.Context, repoID int64, ref store.Ref, actor string) (int64, error) {
	repo, err := s.store.Repository(ctx, repoID)
	if err != nil {
		return 0, err
	}
	if repo.Disabled {
		return 0, refusalf("%s is disabled (the app was uninstalled or lost access): reinstall the app on it to build again", repo.Path())
	}
	// Before the latest build: a push of "-" builds nothing, so "push a commit first" would not help.
	if ref.Kind == store.RefBranch && ref.Name == "-" {
		return 0, refusalf("a branch named \"-\" is not published: rename the branch and push it again")
	}
	last, err := s.store.LatestBuild(ctx, repoID, ref)
	if err != nil {
		return 0, fmt.Errorf("%s has no build of %s to rebuild yet: push a commit first: %w", repo.Path(), ref, err)
	}
	r := &eventRun{Processor: s, ev: &forge.Event{Forge: forge.Name(repo.Forge), Repo: model.ForgeRepo(repo), Actor: forge.User{Login: actor}},
		log: s.log.With("repo", repo.Path(), "rebuild_of", last.ID, "actor", actor)}
	id, err := r.startRef(ctx, repo, ref, last.CommitSHA, store.TriggerAPI, true, nil)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		return 0, refusalf("the rebuild did not start: the configuration at %s may have a mistake: fix .openwrt-ppa.yml as the commit's checks say and push again", model.Short(last.CommitSHA))
	}
	return id, nil
}

// headMovedAfter says why the pull request's head sha may not be what the comment's author saw
// when writing it ("" when it was): a fork's author can push between a maintainer's /rebuild and
// its handling (retries widen that to an hour). The heads the service was told of, with the
// times their deliveries give, decide; the forge's API says only what the head is now.
func (r *eventRun) headMovedAfter(repo store.Repository, n int, sha string) string {
	written := r.ev.SentAt
	if written.IsZero() {
		return "" // not from a comment's delivery (tests, internal work)
	}
	seen, ok := r.data.PullHeadOf(repo.ID, n)
	switch {
	case !ok || seen.SHA != sha:
		return fmt.Sprintf("the pull request's head is now %s, whose push I have not been told of yet", model.Short(sha))
	case seen.At.After(written):
		return fmt.Sprintf("the pull request's head became %s after your comment", model.Short(sha))
	}
	return ""
}
