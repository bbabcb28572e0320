package queue

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Heartbeat extends l every interval (a third of the visibility timeout is a good one) until ctx
// ends, and returns the context the job should run under. That context is cancelled, with the
// cause wrapping ErrLeaseLost, when the lease is lost — another worker took the job over, or it
// was removed — so the worker stops it. A failed extension for another reason (Redis briefly
// unreachable) is retried at the next tick while the lease lasts. Call stop when the job is
// done, before Ack or Nack; it returns the latest lease.
func Heartbeat(ctx context.Context, q Queue, l Lease, interval time.Duration) (jobCtx context.Context, stop func() Lease) {
	jobCtx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	latest := make(chan Lease, 1)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		cur := l
		defer func() { latest <- cur }()
		for {
			select {
			case <-done:
				return
			case <-jobCtx.Done():
				return
			case <-t.C:
				next, err := q.Extend(jobCtx, cur)
				switch {
				case err == nil:
					cur = next
				case errors.Is(err, ErrLeaseLost) || time.Now().After(cur.Expires):
					cancel(fmt.Errorf("extending the lease of job %s: %w: %w", l.JobID, ErrLeaseLost, err))
					return
				}
			}
		}
	}()
	return jobCtx, func() Lease {
		close(done)
		got := <-latest
		cancel(nil)
		return got
	}
}
