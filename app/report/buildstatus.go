package report

import (
	"context"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// RefreshBuild derives a build's status from its jobs: running while any job is pending and one
// has started, else queued; once all are final, failure if any failed, cancelled if all were
// cancelled, else success.
func (r *Reporter) RefreshBuild(ctx context.Context, buildID int64) error {
	jobs, err := r.Store.JobsOfBuild(ctx, buildID)
	if err != nil {
		return err
	}
	now := r.Now()
	_, err = r.Store.UpdateBuild(ctx, buildID, func(b *store.Build) error {
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
