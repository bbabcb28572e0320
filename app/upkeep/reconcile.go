package upkeep

import (
	"context"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
)

// leaseReleaser is the embedded queue's side that hands back every lease at start: all its
// workers live in this process, so none of those leases belongs to a live worker.
type leaseReleaser interface {
	ReleaseLeases(ctx context.Context) (int, error)
}

// Reconcile runs at start. It hands back the embedded queue's leases (the jobs that were running
// when the process stopped run again at once) and queues every pending job again: a crash between
// creating jobs and queueing them must not leave them waiting forever. Enqueue keeps a job that
// is in the queue already as it is, so this is safe with other replicas running.
func (s *Janitor) Reconcile(ctx context.Context, embedded bool) (int, error) {
	if lr, ok := s.queue.(leaseReleaser); ok && embedded {
		if n, err := lr.ReleaseLeases(ctx); err != nil {
			return 0, fmt.Errorf("handing back the leases of the previous run: %w", err)
		} else if n > 0 {
			s.log.Info("jobs of the previous run handed back to the queue", "count", n)
		}
	}
	queued := 0
	after := int64(0)
	for {
		jobs, err := s.store.PendingJobs(ctx, after, 500)
		if err != nil {
			return queued, err
		}
		if len(jobs) == 0 {
			return queued, nil
		}
		for _, j := range jobs {
			if err := s.queue.Enqueue(ctx, model.QueueID(j.ID), nil); err != nil {
				return queued, err
			}
			queued++
			after = j.ID
		}
	}
}
