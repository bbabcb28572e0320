package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// startBuild creates the build and its jobs, cancels older pending work on the same ref, reuses
// results of identical jobs unless forced, reports every job's first status and queues the rest.
// It returns the ID of the build it created (0: none, the reason reported or replied), so a
// caller that asked for the build gets this one and not whichever build of the ref is newest
// when it looks (another start may have made one meanwhile).
func (r *eventRun) startBuild(ctx context.Context, spec buildSpec, cfg builder.Config, raw []byte) (int64, error) {
	cells, err := matrix(cfg, r.catalogue.Current(), builder.ImageOptions{Registry: r.cfg.Registry, Image: r.cfg.Image})
	if err != nil {
		return 0, r.configFailed(ctx, spec, err)
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
			return 0, r.reply(ctx, "Nothing to rebuild: no job of the latest build matches.")
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
		return 0, model.Retry(fmt.Errorf("creating build: %w", err))
	}
	log := r.log.With("build", b.ID)
	jobs := make([]store.Job, len(cells))
	for i, c := range cells {
		jobs[i] = store.Job{BuildID: b.ID, Series: c.Series, Arch: c.Arch, Image: c.Image, Status: store.StatusQueued}
		key, err := model.ContentKey(model.ContentInput{Repo: spec.repo, Ref: spec.ref, Commit: spec.sha,
			Series: c.Series, Arch: c.Arch, Image: c.Image, ImageDigest: model.Digest(ctx, r.images, c.Image),
			Config: cfg, ConfigRaw: raw})
		if err != nil {
			log.Warn("no content key: the job's result will not be reused", "cell", c.name(), "err", err)
		}
		jobs[i].ContentKey = key
	}
	jobs, err = r.store.CreateJobs(ctx, jobs)
	if err != nil {
		// The build has no jobs: close it, and let the event be retried into a new one.
		now := r.now()
		_, _ = r.store.UpdateBuild(context.WithoutCancel(ctx), b.ID, func(sb *store.Build) error {
			sb.Status, sb.Finished = store.StatusCancelled, now
			return nil
		})
		return 0, model.Retry(fmt.Errorf("creating jobs of build %d: %w", b.ID, err))
	}
	log.Info("build created", "ref", spec.ref.String(), "sha", spec.sha, "jobs", len(jobs), "forced", spec.forced)
	replaced := map[string]bool{}
	for _, c := range cells {
		replaced[c.name()] = true
	}
	r.cancelOlder(ctx, spec.repo, b, replaced, fmt.Sprintf("Build %d of %s (commit %s) replaces this one.", b.ID, b.Ref.Name, model.Short(b.CommitSHA)))
	var errs []error
	for i := range jobs {
		if err := r.dispatchJob(ctx, spec, b, &jobs[i], cells[i]); err != nil {
			errs = append(errs, fmt.Errorf("job %d (%s): %w", jobs[i].ID, cells[i].name(), err))
		}
	}
	if err := r.report.RefreshBuild(ctx, b.ID); err != nil {
		errs = append(errs, err)
	}
	return b.ID, errors.Join(errs...)
}

// dispatchJob decides a new job's first step: reuse an identical job's result, or queue it; and
// reports the check.
func (r *eventRun) dispatchJob(ctx context.Context, spec buildSpec, b store.Build, j *store.Job, c cell) error {
	if !spec.forced && j.ContentKey != "" {
		prev, err := r.store.LatestSuccessfulJob(ctx, j.ContentKey)
		if err == nil && prev.ID != j.ID {
			return r.firstReport(r.reuseJob(ctx, spec.repo, b, j, prev))
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
	return r.firstReport(r.report.Job(ctx, spec.repo, b, j, forge.CheckQueued, title, ""))
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
		if err := r.queue.Remove(ctx, model.QueueID(old[i].ID)); err != nil {
			r.log.Warn("taking a cancelled job off the queue", "job", old[i].ID, "err", err)
		}
		ob, err := r.store.Build(ctx, old[i].BuildID)
		if err != nil {
			continue
		}
		if err := r.report.Finish(ctx, repo, ob, &old[i], model.Outcome{Status: store.StatusCancelled,
			Title: "cancelled", Text: why}); err != nil {
			r.log.Warn("cancelling older job", "job", old[i].ID, "err", err)
		}
	}
}

// reuseJob ends a job with the result of an identical job that succeeded before, publishing its
// packages into this build's feed: no container runs.
func (s *Processor) reuseJob(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, prev store.Job) error {
	var res model.Result
	if err := json.Unmarshal(prev.Result, &res); err != nil || res.Artifacts == "" {
		// Nothing to publish from: build it after all.
		return s.queueJob(ctx, repo, b, j)
	}
	files, err := s.data.ArtifactFiles(res.Artifacts)
	if err != nil || len(files) == 0 {
		return s.queueJob(ctx, repo, b, j)
	}
	known := make([]string, 0, len(res.Packages))
	for _, p := range res.Packages {
		known = append(known, p.Name)
	}
	if _, err := s.publish.Job(ctx, repo, b, j, files, known, publish.IndexOf(res.Format, res.IndexJSON)); err != nil {
		s.log.Warn("publishing a reused result failed; building instead", "job", j.ID, "reused", prev.ID, "err", err)
		return s.queueJob(ctx, repo, b, j)
	}
	// The reused job's log stays with that job (retention deletes it with its build); this
	// one's result names it.
	res.ReusedFrom = prev.ID
	return s.report.Finish(ctx, repo, b, j, model.Outcome{Status: store.StatusSuccess,
		Title:  fmt.Sprintf("%d packages (reused)", model.CountBuilt(res.Packages)),
		Text:   fmt.Sprintf("Commit, configuration and SDK are the same as in job %d, so its packages were published again without building.", prev.ID),
		Result: &res})
}

// queueJob puts a job on the queue and reports it queued.
func (s *Processor) queueJob(ctx context.Context, repo store.Repository, b store.Build, j *store.Job) error {
	if err := s.enqueue(ctx, j.ID); err != nil {
		return fmt.Errorf("queueing: %w", err)
	}
	return s.report.Job(ctx, repo, b, j, "queued", "queued", "")
}

// queuePosition returns the queue's depth and the job's place in it.
func (s *Processor) queuePosition(ctx context.Context, jobID int64) (depth, pos int, ok bool) {
	depth, err := s.queue.Len(ctx)
	if err != nil {
		return 0, 0, false
	}
	pos, err = s.queue.Position(ctx, model.QueueID(jobID))
	if err != nil {
		return 0, 0, false
	}
	return depth, pos, true
}

// enqueue puts a job on the queue.
func (s *Processor) enqueue(ctx context.Context, jobID int64) error {
	return s.queue.Enqueue(ctx, model.QueueID(jobID), nil)
}
