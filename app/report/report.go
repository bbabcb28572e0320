package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Reporter reports jobs to their repository's forge and ends them in the store.
type Reporter struct {
	Forges  model.Forges
	Store   store.Store
	BaseURL string // the service's public URL, without a trailing slash
	Metrics *metrics.Metrics
	Now     func() time.Time
	// Locker serialises the first reports of a job (the event stage's "queued", a worker's "in
	// progress"), so one check is created per job; nil: store.ClaimCheckRun alone decides.
	Locker store.Locker
}

// checkLockTTL bounds how long a reporter that died holds a job's first report.
const checkLockTTL = 30 * time.Second

// Job sends a job's check to its forge and keeps the check's id with the job. A forge that does
// not answer does not stop the build: the next report tries again.
func (r *Reporter) Job(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, state forge.CheckState, title, summary string) error {
	f, err := r.Forges.Get(forge.Name(repo.Forge))
	if err != nil {
		return err
	}
	if j.CheckRunID != "" {
		return r.send(ctx, f, repo, b, j, state, title, summary)
	}
	if r.Locker == nil {
		return r.first(ctx, f, repo, b, j, state, title, summary)
	}
	return store.WithLock(ctx, r.Locker, "check:"+strconv.FormatInt(j.ID, 10), checkLockTTL, func(ctx context.Context) error {
		return r.first(ctx, f, repo, b, j, state, title, summary)
	})
}

// first is a report of a job whose caller knows no check yet: another reporter (a worker in
// another process) may have made it meanwhile. The stored job says; a "queued" that the job has
// left behind is not sent at all, and a check made by two reporters at once (the lock expired,
// or there is none) is closed in favour of the one the store kept.
func (r *Reporter) first(ctx context.Context, f forge.Forge, repo store.Repository, b store.Build, j *store.Job, state forge.CheckState, title, summary string) error {
	if cur, err := r.Store.Job(ctx, j.ID); err == nil {
		if state == forge.CheckQueued && cur.Status != store.StatusQueued {
			return nil // a worker took it since: its report is newer
		}
		j.CheckRunID = cur.CheckRunID
	}
	if j.CheckRunID != "" {
		return r.send(ctx, f, repo, b, j, state, title, summary)
	}
	c := r.check(repo, b, j, state, title, summary)
	id, err := f.ReportCheck(ctx, model.ForgeRepo(repo), c)
	if err != nil {
		return fmt.Errorf("reporting check %q: %w", model.CheckName(j), err)
	}
	if id == "" {
		return nil
	}
	won, err := store.ClaimCheckRun(ctx, r.Store, j.ID, id)
	if err != nil {
		return fmt.Errorf("keeping check id: %w", err)
	}
	j.CheckRunID = won
	if won == id {
		return nil
	}
	// Another reporter's check came first: this report goes to it, and ours is closed so that
	// the commit shows no check that never ends.
	c.ID, c.State, c.Title, c.Summary = id, forge.CheckCancelled, "superseded", "This job reports on another check of the same name."
	if _, err := f.ReportCheck(ctx, model.ForgeRepo(repo), c); err != nil {
		return fmt.Errorf("closing a duplicate check %q: %w", model.CheckName(j), err)
	}
	return r.send(ctx, f, repo, b, j, state, title, summary)
}

// check is the report of a job's state.
func (r *Reporter) check(repo store.Repository, b store.Build, j *store.Job, state forge.CheckState, title, summary string) forge.Check {
	return forge.Check{
		ID: j.CheckRunID, Name: model.CheckName(j), SHA: b.CommitSHA, Ref: model.GitRef(b.Ref), State: state,
		Title: title, Summary: summary, DetailsURL: r.BuildURL(repo, b.ID),
		FeedURL: r.FeedURL(repo, b.Ref, j.Series, j.Arch), ExternalID: strconv.FormatInt(j.ID, 10),
	}
}

// send reports to the job's check (or creates one, for a forge that names checks itself).
func (r *Reporter) send(ctx context.Context, f forge.Forge, repo store.Repository, b store.Build, j *store.Job, state forge.CheckState, title, summary string) error {
	id, err := f.ReportCheck(ctx, model.ForgeRepo(repo), r.check(repo, b, j, state, title, summary))
	if err != nil {
		return fmt.Errorf("reporting check %q: %w", model.CheckName(j), err)
	}
	if id != "" && id != j.CheckRunID {
		j.CheckRunID = id
		if _, err := r.Store.UpdateJob(ctx, j.ID, func(sj *store.Job) error { sj.CheckRunID = id; return nil }); err != nil {
			return fmt.Errorf("keeping check id: %w", err)
		}
	}
	return nil
}

// Finish ends a job in the store and reports its final check. A job that already ended is left
// as it is.
func (r *Reporter) Finish(ctx context.Context, repo store.Repository, b store.Build, j *store.Job, out model.Outcome) error {
	res := out.Result
	if res == nil {
		res = &model.Result{Message: out.Text}
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return err
	}
	now := r.Now()
	var updated store.Job
	err = model.WithRetries(ctx, func() error {
		var err error
		updated, err = r.Store.UpdateJob(ctx, j.ID, func(sj *store.Job) error {
			if sj.Status.Final() {
				return model.ErrAlreadyFinished
			}
			sj.Status, sj.Result, sj.Finished = out.Status, raw, now
			return nil
		})
		if errors.Is(err, model.ErrAlreadyFinished) {
			return model.Stop{Err: err}
		}
		return err
	})
	var stop model.Stop
	if errors.As(err, &stop) {
		return nil // already finished by another worker or event
	}
	if err != nil {
		return fmt.Errorf("finishing job: %w", err)
	}
	*j = updated
	r.Metrics.JobDuration.WithLabelValues(string(out.Status)).Observe(jobSeconds(updated))
	// A final report is the one that matters most: a forge that fails for a moment gets a few
	// more tries before the check is left as it was.
	summary := r.summary(repo, b, j, out.Text, res)
	rerr := model.WithRetries(ctx, func() error {
		return r.Job(ctx, repo, b, j, model.CheckState(out.Status), out.Title, summary)
	})
	if err := r.RefreshBuild(ctx, b.ID); err != nil {
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
func (r *Reporter) summary(repo store.Repository, b store.Build, j *store.Job, intro string, res *model.Result) string {
	rows := make([]forge.PackageRow, 0, len(res.Packages))
	for _, p := range res.Packages {
		note := p.Note
		if note == "" && p.Status != "built" {
			note = p.Status
		}
		rows = append(rows, forge.PackageRow{Name: p.Name, Version: p.Version, Size: p.Size, Note: note})
	}
	feed := r.FeedURL(repo, b.Ref, j.Series, j.Arch)
	// The feed's URL names the series only; the summary says which point release built it.
	if release := builder.ReleaseOfImage(j.Image); release != "" {
		intro = strings.TrimSpace(intro + "\n\nBuilt with the OpenWrt " + release + " SDK.")
	}
	in := forge.SummaryInput{Intro: intro, Packages: rows, LogURL: r.LogURL(repo, b.ID, j.ID)}
	if j.Status == store.StatusSuccess {
		in.FeedURL = feed
		in.FeedLine = fmt.Sprintf("src/gz %s %s", web.FeedName(repo), trimSlash(feed))
		if res.Format == builder.FormatAPK {
			// An apk router's three lines: the key (any name ending .pem), the feed, update.
			l := web.Lines(web.FormatAPK, repo, r.BaseURL+repoPath(repo), trimSlash(feed), "", b.Ref.Kind == store.RefPR)
			in.FeedLine = l.Key + "\n" + l.Feed + "\n" + l.Update
		}
	}
	return forge.Summary(in)
}
