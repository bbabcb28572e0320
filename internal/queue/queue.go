// Package queue defines the durable job queue between the service, which enqueues a job per
// series and arch of a build, and the workers that run them. Implementations: queue/sqlite (a
// table in the embedded store's file) and queue/redis (a Redis Stream with a consumer group, for
// workers in other processes and hosts). Both pass the conformance suite in queue/queuetest.
//
// Delivery is at least once. A worker takes a job with a lease (a visibility timeout) and keeps
// it by extending the lease while it works (a heartbeat). A worker that dies stops extending;
// once its lease runs out the job goes back to the waiting jobs, at the front, and another worker
// takes it. So a job can run twice — the slow worker that was presumed dead and the one that took
// over — which is why results must be idempotent, and why a worker whose Extend fails with
// ErrLeaseLost should stop the job.
package queue

import (
	"context"
	"errors"
	"time"
)

// Errors the implementations return, wrapped; test them with errors.Is.
var (
	// ErrLeaseLost: the lease is no longer the worker's — it ran out (another worker may have
	// taken the job), or the job was handed back, acknowledged or removed. Stop working on it.
	ErrLeaseLost = errors.New("lease lost")
	// ErrNotFound: the job is not in the queue (never enqueued, or acknowledged or removed).
	ErrNotFound = errors.New("job not in queue")
)

// DefaultVisibility is the lease length when the options give none: long enough to survive a
// pause, short enough that a dead worker's job is picked up again soon. Workers extend it every
// third of it.
const DefaultVisibility = 2 * time.Minute

// Queue is a durable FIFO of jobs with leases. Every method is safe for concurrent use.
type Queue interface {
	// Enqueue adds a job at the back. A job ID already in the queue (waiting or leased) is left
	// as it is, payload included, so that enqueueing again after a crash is harmless.
	Enqueue(ctx context.Context, jobID string, payload []byte) error
	// Dequeue leases the job at the front to worker (a name unique to the worker), waiting for
	// one as long as ctx allows; when ctx ends it returns ctx's error, wrapped. Jobs whose lease
	// ran out, and jobs handed back, are at the front in enqueue order.
	Dequeue(ctx context.Context, worker string) (Lease, error)
	// Extend renews the lease for another visibility timeout and returns it renewed, or
	// ErrLeaseLost — also when the lease ran out, even if no other worker took the job yet.
	Extend(ctx context.Context, l Lease) (Lease, error)
	// Ack removes the finished job from the queue. It is idempotent: acknowledging a job that
	// is gone already is not an error. It succeeds even if the lease was lost meanwhile — the
	// job is done — and the worker that took over learns it from Extend.
	Ack(ctx context.Context, l Lease) error
	// Nack hands the job back at once, at the front (graceful shutdown, a worker that cannot
	// run it now). ErrLeaseLost when the lease is not the worker's any more.
	Nack(ctx context.Context, l Lease) error
	// Remove takes a job out of the queue, waiting or leased (a cancelled build). The worker
	// holding it learns it from Extend (ErrLeaseLost). Removing a job not in the queue does
	// nothing.
	Remove(ctx context.Context, jobID string) error
	// Len is the number of waiting jobs: not leased, or whose lease ran out.
	Len(ctx context.Context) (int, error)
	// Position is the job's place among the waiting jobs, 1 at the front; 0 when a worker holds
	// it; ErrNotFound when it is not in the queue.
	Position(ctx context.Context, jobID string) (int, error)
}

// Lease is a job a worker holds until Expires.
type Lease struct {
	JobID   string
	Payload []byte
	Worker  string
	// Attempt counts deliveries of this job: 1 the first time, more after a lease ran out or
	// the job was handed back. A job that keeps killing its worker shows here.
	Attempt int
	Expires time.Time
	// Token identifies the lease to the implementation; opaque.
	Token string
}
