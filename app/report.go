package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// jobResult is what a job leaves in store.Job.Result: the per-package outcome the check summary,
// the build page and the API show.
type jobResult struct {
	Packages []packageResult `json:"packages,omitempty"`
	// Message explains a job that failed as a whole (configuration, checkout, timeout…).
	Message string `json:"message,omitempty"`
	// ReusedFrom is the job whose result this one reuses.
	ReusedFrom int64 `json:"reused_from,omitempty"`
	// Artifacts is the folder (under the data dir's cache) holding the built packages, so a
	// reused result can be published to another feed.
	Artifacts string `json:"artifacts,omitempty"`
	// IndexJSON is the index.json version the feed was written with.
	IndexJSON int `json:"index_json,omitempty"`
}

// packageResult is one package of a job.
type packageResult struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Size    int64  `json:"size,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	File    string `json:"file,omitempty"`
	Status  string `json:"status"` // built, failed, skipped, refused
	Step    string `json:"step,omitempty"`
	Note    string `json:"note,omitempty"`
	// DurationMS is how long the package took to build.
	DurationMS int64 `json:"duration_ms,omitempty"`
}

// jobOutcome is how a job ends.
type jobOutcome struct {
	status store.Status
	title  string
	text   string // intro of the check summary
	result *jobResult
}

func checkState(s store.Status) forge.CheckState {
	switch s {
	case store.StatusQueued:
		return forge.CheckQueued
	case store.StatusRunning:
		return forge.CheckInProgress
	case store.StatusSuccess, store.StatusSkipped:
		return forge.CheckSuccess
	case store.StatusCancelled:
		return forge.CheckCancelled
	case store.StatusTimedOut:
		return forge.CheckTimedOut
	}
	return forge.CheckFailure
}

func forgeRepo(r store.Repository) forge.Repo {
	id, _ := strconv.ParseInt(r.ForgeID, 10, 64)
	return forge.Repo{Forge: forge.Name(r.Forge), ID: id, Owner: r.Owner, Name: r.Name,
		DefaultBranch: r.DefaultBranch, Private: r.Private, Installation: r.InstallationID}
}

func checkName(j *store.Job) string { return "openwrt-ppa: " + j.Series + "/" + j.Arch }

// gitRefOf is the full git ref a build's statuses attach to on GitLab.
func gitRefOf(ref store.Ref) string {
	switch ref.Kind {
	case store.RefBranch:
		return "refs/heads/" + ref.Name
	case store.RefTag:
		return "refs/tags/" + ref.Name
	}
	return ""
}

// reportJob sends a job's check to its forge and keeps the check's id with the job. A forge
// that does not answer does not stop the build: the next report tries again.
func (s *Service) reportJob(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, state forge.CheckState, title, summary string) error {
	f, err := s.forge(forge.Name(repo.Forge))
	if err != nil {
		return err
	}
	id, err := f.ReportCheck(ctx, forgeRepo(repo), forge.Check{
		ID: j.CheckRunID, Name: checkName(j), SHA: b.CommitSHA, Ref: gitRefOf(b.Ref), State: state,
		Title: title, Summary: summary, DetailsURL: s.buildURL(repo, b.ID),
		FeedURL: s.feedURL(repo, b.Ref, j.Series, j.Arch), ExternalID: strconv.FormatInt(j.ID, 10),
	})
	if err != nil {
		return fmt.Errorf("reporting check %q: %w", checkName(j), err)
	}
	if id != "" && id != j.CheckRunID {
		j.CheckRunID = id
		if _, err := s.store.UpdateJob(ctx, j.ID, func(sj *store.Job) error { sj.CheckRunID = id; return nil }); err != nil {
			return fmt.Errorf("keeping check id: %w", err)
		}
	}
	return nil
}

// errAlreadyFinished stops a transition of a job another worker or event already ended.
var errAlreadyFinished = errors.New("job already finished")

// finishJob ends a job in the store and reports its final check. A job that already ended is
// left as it is.
func (s *Service) finishJob(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, out jobOutcome) error {
	res := out.result
	if res == nil {
		res = &jobResult{Message: out.text}
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return err
	}
	now := s.now()
	var updated store.Job
	err = withRetries(ctx, func() error {
		var err error
		updated, err = s.store.UpdateJob(ctx, j.ID, func(sj *store.Job) error {
			if sj.Status.Final() {
				return errAlreadyFinished
			}
			sj.Status, sj.Result, sj.Finished = out.status, raw, now
			return nil
		})
		if errors.Is(err, errAlreadyFinished) {
			return backoffStop{err}
		}
		return err
	})
	var stop backoffStop
	if errors.As(err, &stop) {
		return nil // already finished by another worker or event
	}
	if err != nil {
		return fmt.Errorf("finishing job: %w", err)
	}
	*j = updated
	s.metrics.JobDuration.WithLabelValues(string(out.status)).Observe(jobSeconds(updated))
	// A final report is the one that matters most: a forge that fails for a moment gets a few
	// more tries before the check is left as it was.
	summary := s.summary(repo, b, j, out.text, res)
	rerr := withRetries(ctx, func() error {
		return s.reportJob(ctx, repo, b, j, checkState(out.status), out.title, summary)
	})
	if err := s.refreshBuildStatus(ctx, b.ID); err != nil {
		return errors.Join(rerr, err)
	}
	return rerr
}

func jobSeconds(j store.Job) float64 {
	if j.Started.IsZero() || j.Finished.IsZero() {
		return 0
	}
	return j.Finished.Sub(j.Started).Seconds()
}

// summary renders a finished job's check summary.
func (s *Service) summary(repo store.Repository, b store.Build, j *store.Job, intro string, res *jobResult) string {
	rows := make([]forge.PackageRow, 0, len(res.Packages))
	for _, p := range res.Packages {
		note := p.Note
		if note == "" && p.Status != "built" {
			note = p.Status
		}
		rows = append(rows, forge.PackageRow{Name: p.Name, Version: p.Version, Size: p.Size, Note: note})
	}
	feed := s.feedURL(repo, b.Ref, j.Series, j.Arch)
	in := forge.SummaryInput{Intro: intro, Packages: rows, LogURL: s.logURL(repo, b.ID, j.ID)}
	if j.Status == store.StatusSuccess {
		in.FeedURL = feed
		in.FeedLine = fmt.Sprintf("src/gz %s %s", web.FeedName(repo), trimSlash(feed))
	}
	return forge.Summary(in)
}

// refreshBuildStatus derives a build's status from its jobs: running while any job is pending
// and one has started, else queued; once all are final, failure if any failed, cancelled if
// all were cancelled, else success.
func (s *Service) refreshBuildStatus(ctx context.Context, buildID int64) error {
	jobs, err := s.store.JobsOfBuild(ctx, buildID)
	if err != nil {
		return err
	}
	now := s.now()
	_, err = s.store.UpdateBuild(ctx, buildID, func(b *store.Build) error {
		b.Status = deriveStatus(jobs)
		if b.Status != store.StatusQueued && b.Started.IsZero() {
			b.Started = now
		}
		if b.Status.Final() && b.Finished.IsZero() {
			b.Finished = now
		}
		return nil
	})
	return err
}

func deriveStatus(jobs []store.Job) store.Status {
	pending, started, failed, cancelled, timedOut := 0, 0, 0, 0, 0
	for _, j := range jobs {
		switch {
		case j.Status.Pending():
			pending++
			if j.Status == store.StatusRunning {
				started++
			}
		case j.Status == store.StatusFailure:
			failed++
		case j.Status == store.StatusCancelled:
			cancelled++
		case j.Status == store.StatusTimedOut:
			timedOut++
		}
	}
	switch {
	case pending > 0 && started > 0, pending > 0 && pending < len(jobs):
		return store.StatusRunning
	case pending > 0:
		return store.StatusQueued
	case failed > 0:
		return store.StatusFailure
	case timedOut > 0:
		return store.StatusTimedOut
	case cancelled > 0 && cancelled == len(jobs):
		return store.StatusCancelled
	case cancelled > 0:
		return store.StatusFailure
	}
	return store.StatusSuccess
}

// configFailed reports a configuration mistake as one failed check, so the author sees the file
// and line; other errors are returned for the event loop.
func (r *eventRun) configFailed(ctx context.Context, spec buildSpec, err error) error {
	var rt *retryError
	if errors.As(err, &rt) {
		return err
	}
	r.reportRefusal(ctx, forgeRepo(spec.repo), spec.sha, spec.gitRef, "The repository configuration has a mistake; fix it and push again:\n\n```\n"+err.Error()+"\n```")
	return nil
}

// refused reports why a ref is not built, as one failed check.
func (r *eventRun) refused(ctx context.Context, spec buildSpec, why string) error {
	r.reportRefusal(ctx, forgeRepo(spec.repo), spec.sha, spec.gitRef, why)
	return nil
}

func (r *eventRun) reportRefusal(ctx context.Context, repo forge.Repo, sha, gitRef, why string) {
	f, err := r.forge(repo.Forge)
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
	f, err := r.forge(r.ev.Forge)
	if err != nil {
		return err
	}
	return f.Reply(ctx, r.ev.Repo, n, body)
}

func (r *eventRun) react(ctx context.Context, reaction forge.Reaction) {
	if r.ev.Comment == nil {
		return
	}
	f, err := r.forge(r.ev.Forge)
	if err != nil {
		return
	}
	if err := f.React(ctx, r.ev.Repo, *r.ev.Comment, reaction); err != nil {
		r.log.Warn("adding reaction", "err", err)
	}
}

// retryDelays are the pauses between tries of a step that must not be lost to a passing failure.
func retryDelays() []time.Duration {
	return []time.Duration{time.Second, 3 * time.Second, 9 * time.Second}
}

// backoffStop ends withRetries at once with its error.
type backoffStop struct{ err error }

func (b backoffStop) Error() string { return b.err.Error() }
func (b backoffStop) Unwrap() error { return b.err }

// withRetries runs fn until it succeeds, returns a backoffStop, the tries run out, or ctx ends.
func withRetries(ctx context.Context, fn func() error) error {
	err := fn()
	for _, d := range retryDelays() {
		if err == nil || errors.As(err, new(backoffStop)) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = fn()
	}
	return err
}
