package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
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

// loadConfig reads .openwrt-ppa.yml at the commit. A mistake in it is a *builder.ConfigError
// (shown on a check); a forge that cannot be reached is a retryError.
func (r *eventRun) loadConfig(ctx context.Context, repo store.Repository, sha string) (builder.Config, []byte, error) {
	f, err := r.forge(forge.Name(repo.Forge))
	if err != nil {
		return builder.Config{}, nil, err
	}
	raw, found, err := f.ReadFile(ctx, forgeRepo(repo), sha, builder.ConfigFile)
	if err != nil {
		return builder.Config{}, nil, retry(fmt.Errorf("reading %s at %s: %w", builder.ConfigFile, sha, err))
	}
	if !found {
		raw = nil
	}
	cfg, err := builder.ParseConfig(builder.ConfigFile, raw)
	return cfg, raw, err
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
	return r.startBuild(ctx, spec, cfg, raw)
}

func (r *eventRun) onTag(ctx context.Context) error {
	repo, err := r.activeRepository(ctx)
	if err != nil || repo.ID == 0 {
		return err
	}
	spec := buildSpec{repo: repo, ref: store.Ref{Kind: store.RefTag, Name: r.ev.Tag()}, gitRef: r.ev.Ref,
		sha: r.ev.SHA, trigger: store.TriggerTag, actor: r.ev.Actor.Login}
	if prev, err := r.store.LatestBuild(ctx, repo.ID, spec.ref); err == nil && prev.Status == store.StatusSuccess && prev.CommitSHA != spec.sha {
		return r.refused(ctx, spec, fmt.Sprintf("Tag feeds are immutable once built: tag %s was built from commit %s and now points at %s. Routers that installed from it must not get other packages under the same name; push a new tag instead.", spec.ref.Name, short(prev.CommitSHA), short(spec.sha)))
	}
	cfg, raw, err := r.loadConfig(ctx, repo, r.ev.SHA)
	if err != nil {
		return r.configFailed(ctx, spec, err)
	}
	return r.startBuild(ctx, spec, cfg, raw)
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
		r.unschedulePRRemoval(repo.ID, pr.Number)
	}
	if pr.FromFork {
		if r.ev.Kind == forge.KindPullOpened {
			return r.reply(ctx, "Thanks! This pull request comes from a fork, so OpenWrt PPA builds it only after someone with write access to the repository comments `/rebuild`.")
		}
		return nil
	}
	return r.buildPull(ctx, repo, pr.Number, r.ev.SHA, store.TriggerPush, false, nil)
}

func (r *eventRun) buildPull(ctx context.Context, repo store.Repository, number int, sha string, trigger store.Trigger, forced bool, only map[string]bool) error {
	spec := buildSpec{repo: repo, ref: store.PRRef(number), sha: sha, trigger: trigger,
		actor: r.ev.Actor.Login, forced: forced, only: only}
	if r.ev.Pull != nil && r.ev.Pull.HeadRef != "" && !r.ev.Pull.FromFork {
		spec.gitRef = "refs/heads/" + r.ev.Pull.HeadRef
	}
	cfg, raw, err := r.loadConfig(ctx, repo, sha)
	if err != nil {
		return r.configFailed(ctx, spec, err)
	}
	return r.startBuild(ctx, spec, cfg, raw)
}

// activeRepository returns the event's repository, or a zero one (and no error) when it must
// not build: disabled, or refused for its path (the reason is logged and, where possible,
// reported).
func (r *eventRun) activeRepository(ctx context.Context) (store.Repository, error) {
	repo, err := r.repository(ctx)
	var rt *retryError
	switch {
	case errors.As(err, &rt):
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

// startBuild creates the build and its jobs, cancels older pending work on the same ref, reuses
// results of identical jobs unless forced, reports every job's first status and queues the rest.
func (r *eventRun) startBuild(ctx context.Context, spec buildSpec, cfg builder.Config, raw []byte) error {
	cells, err := matrix(cfg, r.catalogue, builder.ImageOptions{Registry: r.cfg.Registry, Image: r.cfg.Image})
	if err != nil {
		return r.configFailed(ctx, spec, err)
	}
	if spec.only != nil {
		var kept []cell
		for _, c := range cells {
			if spec.only[c.name()] {
				kept = append(kept, c)
			}
		}
		cells = kept
		if len(cells) == 0 {
			return r.reply(ctx, "Nothing to rebuild: no job of the latest build matches.")
		}
	}
	// A build is dated by the webhook that asked for it (zero: now), so the order of builds of a
	// ref is the order of the pushes, whatever order their events were handled in.
	b, err := r.store.CreateBuild(ctx, store.Build{
		RepoID: spec.repo.ID, CommitSHA: spec.sha, Ref: spec.ref, Trigger: spec.trigger,
		Actor: spec.actor, Forced: spec.forced, Status: store.StatusQueued, DeliveryID: r.ev.DeliveryID,
		Created: r.received,
	})
	if err != nil {
		return retry(fmt.Errorf("creating build: %w", err))
	}
	log := r.log.With("build", b.ID)
	jobs := make([]store.Job, len(cells))
	for i, c := range cells {
		jobs[i] = store.Job{BuildID: b.ID, Series: c.Series, Arch: c.Arch, Image: c.Image,
			ContentKey: contentKey(spec.repo.Forge+"/"+spec.repo.ForgeID, spec.sha, c, raw), Status: store.StatusQueued}
	}
	jobs, err = r.store.CreateJobs(ctx, jobs)
	if err != nil {
		// The build has no jobs: close it, and let the event be retried into a new one.
		now := r.now()
		_, _ = r.store.UpdateBuild(context.WithoutCancel(ctx), b.ID, func(sb *store.Build) error {
			sb.Status, sb.Finished = store.StatusCancelled, now
			return nil
		})
		return retry(fmt.Errorf("creating jobs of build %d: %w", b.ID, err))
	}
	log.Info("build created", "ref", spec.ref.String(), "sha", spec.sha, "jobs", len(jobs), "forced", spec.forced)
	replaced := map[string]bool{}
	for _, c := range cells {
		replaced[c.name()] = true
	}
	r.cancelOlder(ctx, spec.repo, b, replaced, fmt.Sprintf("Build %d of %s (commit %s) replaces this one.", b.ID, b.Ref.Name, short(b.CommitSHA)))
	var errs []error
	for i := range jobs {
		if err := r.dispatchJob(ctx, spec, b, &jobs[i], cells[i]); err != nil {
			errs = append(errs, fmt.Errorf("job %d (%s): %w", jobs[i].ID, cells[i].name(), err))
		}
	}
	if err := r.refreshBuildStatus(ctx, b.ID); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dispatchJob decides a new job's first step: fail at once (apk series), reuse an identical
// job's result, or queue it; and reports the check.
func (r *eventRun) dispatchJob(ctx context.Context, spec buildSpec, b store.Build, j *store.Job, c cell) error {
	if c.Unsupported != "" {
		return r.Service.finishJob(ctx, spec.repo, b, j, jobOutcome{status: store.StatusFailure,
			title: "not built: apk series", text: c.Unsupported})
	}
	if !spec.forced {
		prev, err := r.store.LatestSuccessfulJob(ctx, j.ContentKey)
		if err == nil && prev.ID != j.ID {
			return r.firstReport(r.Service.reuseJob(ctx, spec.repo, b, j, prev))
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			r.log.Warn("looking up a reusable result; building instead", "err", err)
		}
	}
	if err := r.enqueue(ctx, j.ID); err != nil {
		return fmt.Errorf("queueing: %w", err)
	}
	title := "queued"
	if depth, pos, ok := r.queuePosition(ctx, j.ID); ok && r.cfg.QueueLimit > 0 && depth > r.cfg.QueueLimit {
		title = "waiting: the queue is long, position " + strconv.Itoa(pos)
	}
	return r.firstReport(r.Service.reportJob(ctx, spec.repo, b, j, forge.CheckQueued, title, ""))
}

// firstReport measures, once per event, the time from the webhook to its first check report.
func (r *eventRun) firstReport(err error) error {
	if err == nil && !r.reported && !r.received.IsZero() {
		r.reported = true
		r.metrics.FirstReport.Observe(r.now().Sub(r.received).Seconds())
	}
	return err
}

// cancelOlder cancels the pending jobs of older builds of the same ref that the new build
// replaces: those of the cells it builds (cells nil: every cell). A re-run of one cell therefore
// cancels only that cell's older job. Running jobs see the cancellation at their next status
// check.
func (r *eventRun) cancelOlder(ctx context.Context, repo store.Repository, b store.Build, cells map[string]bool, why string) {
	old, err := r.store.PendingJobsBefore(ctx, repo.ID, b.Ref, b.ID)
	if err != nil {
		r.log.Warn("finding older pending jobs to cancel", "err", err)
		return
	}
	for i := range old {
		if cells != nil && !cells[old[i].Series+"/"+old[i].Arch] {
			continue
		}
		if err := r.queue.Remove(ctx, strconv.FormatInt(old[i].ID, 10)); err != nil {
			r.log.Warn("taking a cancelled job off the queue", "job", old[i].ID, "err", err)
		}
		ob, err := r.store.Build(ctx, old[i].BuildID)
		if err != nil {
			continue
		}
		if err := r.Service.finishJob(ctx, repo, ob, &old[i], jobOutcome{status: store.StatusCancelled,
			title: "cancelled", text: why}); err != nil {
			r.log.Warn("cancelling older job", "job", old[i].ID, "err", err)
		}
	}
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

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
