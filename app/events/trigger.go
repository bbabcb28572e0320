package events

import (
	"cmp"
	"context"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// buildSpec is what starts a build.
type buildSpec struct {
	repo    store.Repository
	ref     store.Ref
	gitRef  string // full git ref (GitLab attaches statuses to it); "" when unknown
	sha     string
	trigger store.Trigger
	actor   string
	forced  bool
	// only, when set, limits the build to these "<series>/<arch>" cells (a re-run of one check,
	// /rebuild failed).
	only map[string]bool
}

func (r *eventRun) onPush(ctx context.Context) error {
	repo, err := r.activeRepository(ctx)
	if err != nil || repo.ID == 0 {
		return err
	}
	branch := r.ev.Branch()
	spec := buildSpec{repo: repo, ref: store.Ref{Kind: store.RefBranch, Name: branch}, gitRef: r.ev.Ref,
		sha: r.ev.SHA, trigger: store.TriggerPush, actor: r.ev.Actor.Login}
	if r.superseded(ctx, repo, spec.ref) {
		r.log.Info("push not built: a newer push of the branch was built since this one arrived", "branch", branch)
		return nil
	}
	cfg, raw, err := r.loadConfig(ctx, repo, r.ev.SHA)
	if err != nil {
		return r.configFailed(ctx, spec, err)
	}
	if !branchBuilds(cfg.Branches, branch, repo.DefaultBranch) {
		r.log.Info("branch does not build: not the default branch and no `branches` glob matches it", "branch", branch)
		return nil
	}
	if branch == "-" {
		return r.refused(ctx, spec, "The branch name \"-\" is not published: its feed URL would clash with the repository's service pages. Rename the branch.")
	}
	_, err = r.startBuild(ctx, spec, cfg, raw)
	return err
}

func (r *eventRun) onTag(ctx context.Context) error {
	repo, err := r.activeRepository(ctx)
	if err != nil || repo.ID == 0 {
		return err
	}
	spec := buildSpec{repo: repo, ref: store.Ref{Kind: store.RefTag, Name: r.ev.Tag()}, gitRef: r.ev.Ref,
		sha: r.ev.SHA, trigger: store.TriggerTag, actor: r.ev.Actor.Login}
	if prev, err := r.store.LatestBuild(ctx, repo.ID, spec.ref); err == nil && prev.Status == store.StatusSuccess && prev.CommitSHA != spec.sha {
		return r.refused(ctx, spec, fmt.Sprintf("Tag feeds are immutable once built: tag %s was built from commit %s and now points at %s. Routers that installed from it must not get other packages under the same name; push a new tag instead.", spec.ref.Name, model.Short(prev.CommitSHA), model.Short(spec.sha)))
	}
	cfg, raw, err := r.loadConfig(ctx, repo, r.ev.SHA)
	if err != nil {
		return r.configFailed(ctx, spec, err)
	}
	_, err = r.startBuild(ctx, spec, cfg, raw)
	return err
}

// onPull builds pull requests from the same repository. Forks run untrusted code with network
// access during downloads, so they wait for a `/rebuild` from someone with write access.
func (r *eventRun) onPull(ctx context.Context) error {
	repo, err := r.activeRepository(ctx)
	if err != nil || repo.ID == 0 {
		return err
	}
	pr := r.ev.Pull
	if pr == nil || pr.Number <= 0 {
		return fmt.Errorf("pull event without a pull request number")
	}
	if r.ev.Kind == forge.KindPullReopened {
		r.data.UnmarkPRClosed(repo.ID, pr.Number) // reopened: its feed stays
	}
	if at := cmp.Or(r.ev.SentAt, r.received); !at.IsZero() && r.ev.SHA != "" {
		// A /rebuild later builds the head only if it was there before the comment.
		if err := r.data.NotePullHead(repo.ID, pr.Number, r.ev.SHA, at); err != nil {
			r.log.Warn("recording the pull request's head", "err", err)
		}
	}
	if pr.FromFork {
		if r.ev.Kind == forge.KindPullOpened {
			return r.reply(ctx, "Thanks! This pull request comes from a fork, so OpenWrt PPA builds it only after someone with write access to the repository comments `/rebuild`.")
		}
		return nil
	}
	_, err = r.buildPull(ctx, repo, pr.Number, r.ev.SHA, store.TriggerPush, false, nil)
	return err
}

// buildPull starts a build of pull request number at sha; it returns the build's ID as
// startBuild does.
func (r *eventRun) buildPull(ctx context.Context, repo store.Repository, number int, sha string, trigger store.Trigger, forced bool, only map[string]bool) (int64, error) {
	spec := buildSpec{repo: repo, ref: store.PRRef(number), sha: sha, trigger: trigger,
		actor: r.ev.Actor.Login, forced: forced, only: only}
	if r.ev.Pull != nil && r.ev.Pull.HeadRef != "" && !r.ev.Pull.FromFork {
		spec.gitRef = "refs/heads/" + r.ev.Pull.HeadRef
	}
	cfg, raw, err := r.loadConfig(ctx, repo, sha)
	if err != nil {
		return 0, r.configFailed(ctx, spec, err)
	}
	return r.startBuild(ctx, spec, cfg, raw)
}

// activeRepository returns the event's repository, or a zero one (and no error) when it must
// not build: disabled, or refused for its path (the reason is logged and, where possible,
// reported).
func (r *eventRun) activeRepository(ctx context.Context) (store.Repository, error) {
	repo, err := r.repository(ctx)
	switch {
	case model.IsRetry(err):
		return repo, err
	case err != nil:
		r.log.Warn("repository refused", "err", err)
		if r.ev.SHA != "" {
			r.reportRefusal(ctx, r.ev.Repo, r.ev.SHA, r.ev.Ref, err.Error())
		}
		return store.Repository{}, nil
	case repo.Disabled:
		r.log.Info("repository is disabled; not building", "repo_id", repo.ID)
		return store.Repository{}, nil
	}
	return repo, nil
}

// superseded reports whether a build of ref asked for by a webhook that arrived after this
// event's exists: the event was retried after a newer push was built, and building it now would
// replace newer packages with older ones.
func (r *eventRun) superseded(ctx context.Context, repo store.Repository, ref store.Ref) bool {
	if r.received.IsZero() {
		return false
	}
	latest, err := r.store.LatestBuild(ctx, repo.ID, ref)
	// Only a push says what the branch's head is; a re-run may rebuild any older commit.
	return err == nil && latest.Trigger == store.TriggerPush && latest.Created.After(r.received) && latest.CommitSHA != r.ev.SHA
}
