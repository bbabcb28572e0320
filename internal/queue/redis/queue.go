// Package redis is the shared job queue: a Redis Stream read by a consumer group, so workers in
// any process or host take jobs from one queue, and a job whose worker died is claimed by another
// (XAUTOCLAIM) once its lease — the entry's idle time in the group's pending list — passes the
// visibility timeout. Extending a lease re-claims the entry by its owner, which resets the idle
// time. Acknowledged entries are deleted from the stream, so the stream holds exactly the jobs
// in the queue.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
)

// Options configures a Queue.
type Options struct {
	// Prefix starts the queue's keys; "ppa:" when empty.
	Prefix string
	// Visibility is the lease length; queue.DefaultVisibility when zero. Every process sharing
	// the queue must use the same.
	Visibility time.Duration
	// Block bounds one blocking read; a waiting Dequeue looks for expired leases between reads.
	// 1s when zero.
	Block time.Duration
}

// Queue is the Redis queue.
type Queue struct {
	c                 goredis.UniversalClient
	stream, jobs, grp string
	opts              Options
}

var _ queue.Queue = (*Queue)(nil)

const group = "workers"

// New returns the queue, creating its stream and consumer group if needed. The client stays the
// caller's.
func New(ctx context.Context, c goredis.UniversalClient, opts Options) (*Queue, error) {
	if opts.Prefix == "" {
		opts.Prefix = "ppa:"
	}
	if opts.Visibility <= 0 {
		opts.Visibility = queue.DefaultVisibility
	}
	if opts.Block <= 0 {
		opts.Block = time.Second
	}
	q := &Queue{c: c, stream: opts.Prefix + "queue", jobs: opts.Prefix + "queue:jobs", grp: group, opts: opts}
	if err := q.ensureGroup(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

// ensureGroup creates the stream and its consumer group unless they exist. The group reads from
// the stream's start, so entries added while it was missing are delivered.
func (q *Queue) ensureGroup(ctx context.Context) error {
	err := q.c.XGroupCreateMkStream(ctx, q.stream, q.grp, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating the queue's consumer group on %s (is Redis 6.2 or later?): %w", q.stream, err)
	}
	return nil
}

// noGroup reports the error Redis gives when the stream or group is gone — Redis restarted
// without its data, or someone flushed it. Dequeue then makes them again instead of failing
// forever.
func noGroup(err error) bool { return err != nil && strings.Contains(err.Error(), "NOGROUP") }

// KEYS: stream, jobs. ARGV: job id, payload. The jobs hash maps a job to its stream entry, which
// makes enqueueing idempotent and lets Position and Remove find the entry.
var enqueueScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local id = redis.call('XADD', KEYS[1], '*', 'job', ARGV[1], 'payload', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], id)
return 1`)

// Enqueue implements queue.Queue.
func (q *Queue) Enqueue(ctx context.Context, jobID string, payload []byte) error {
	if err := enqueueScript.Run(ctx, q.c, []string{q.stream, q.jobs}, jobID, payload).Err(); err != nil {
		return fmt.Errorf("enqueueing job %s: %w", jobID, err)
	}
	return nil
}

// Dequeue implements queue.Queue.
func (q *Queue) Dequeue(ctx context.Context, worker string) (queue.Lease, error) {
	for {
		if err := ctx.Err(); err != nil {
			return queue.Lease{}, fmt.Errorf("waiting for a job: %w", err)
		}
		// Expired leases and handed-back jobs first: they are older than any new entry.
		l, ok, err := q.reclaim(ctx, worker)
		if noGroup(err) {
			if err := q.ensureGroup(ctx); err != nil {
				return queue.Lease{}, err
			}
			continue
		}
		if err != nil || ok {
			return l, err
		}
		block := q.opts.Block
		if dl, has := ctx.Deadline(); has {
			block = min(block, time.Until(dl))
		}
		if block < time.Millisecond {
			continue // the deadline has passed; ctx.Err() ends the loop
		}
		res, err := q.c.XReadGroup(ctx, &goredis.XReadGroupArgs{
			Group: q.grp, Consumer: worker, Streams: []string{q.stream, ">"}, Count: 1, Block: block,
		}).Result()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if noGroup(err) {
			if err := q.ensureGroup(ctx); err != nil {
				return queue.Lease{}, err
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return queue.Lease{}, fmt.Errorf("waiting for a job: %w", ctx.Err())
			}
			return queue.Lease{}, fmt.Errorf("reading the queue for %s: %w", worker, err)
		}
		if len(res) == 1 && len(res[0].Messages) == 1 {
			return q.lease(res[0].Messages[0], worker, 1, time.Now()), nil
		}
	}
}

// reclaim takes over the oldest entry whose lease ran out, if any.
func (q *Queue) reclaim(ctx context.Context, worker string) (queue.Lease, bool, error) {
	start := "0-0"
	for {
		now := time.Now()
		msgs, next, err := q.c.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
			Stream: q.stream, Group: q.grp, Consumer: worker, MinIdle: q.opts.Visibility, Start: start, Count: 1,
		}).Result()
		if err != nil {
			return queue.Lease{}, false, fmt.Errorf("claiming expired jobs for %s: %w", worker, err)
		}
		for _, m := range msgs {
			if m.Values == nil {
				continue // deleted meanwhile
			}
			// The claim counted a delivery; read the count for the lease's Attempt.
			p, err := q.c.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: q.stream, Group: q.grp, Start: m.ID, End: m.ID, Count: 1}).Result()
			if err != nil {
				return queue.Lease{}, false, fmt.Errorf("reading the delivery count of %s: %w", m.ID, err)
			}
			attempt := 1
			if len(p) == 1 {
				attempt = int(p[0].RetryCount)
			}
			return q.lease(m, worker, attempt, now), true, nil
		}
		// XAUTOCLAIM scans a bounded part of the pending list per call; follow its cursor.
		if next == "0-0" || next == "" {
			return queue.Lease{}, false, nil
		}
		start = next
	}
}

func (q *Queue) lease(m goredis.XMessage, worker string, attempt int, at time.Time) queue.Lease {
	job, _ := m.Values["job"].(string)
	payload, _ := m.Values["payload"].(string)
	return queue.Lease{
		JobID: job, Payload: []byte(payload), Worker: worker, Attempt: attempt,
		Expires: at.Add(q.opts.Visibility), Token: m.ID,
	}
}

// KEYS: stream. ARGV: group, entry id, worker, attempt, idle ms to set, visibility ms. The lease
// is the worker's while the entry is pending for it with the same delivery count and has not
// been idle for the visibility timeout (then it may be claimed any moment); re-claiming it by the
// same consumer keeps it and sets its idle time (0 extends; the visibility timeout hands it back,
// since XAUTOCLAIM then takes it at once). JUSTID leaves the delivery count alone.
var reclaimOwnScript = goredis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] or tostring(p[1][4]) ~= ARGV[4] or p[1][3] >= tonumber(ARGV[6]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', ARGV[5], 'JUSTID')
return 1`)

func (q *Queue) reclaimOwn(ctx context.Context, l queue.Lease, idle time.Duration, doing string) error {
	ok, err := reclaimOwnScript.Run(ctx, q.c, []string{q.stream}, q.grp, l.Token, l.Worker, l.Attempt, idle.Milliseconds(), q.opts.Visibility.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("%s job %s: %w", doing, l.JobID, err)
	}
	if ok == 0 {
		return fmt.Errorf("%s job %s (worker %s, attempt %d): %w", doing, l.JobID, l.Worker, l.Attempt, queue.ErrLeaseLost)
	}
	return nil
}

// Extend implements queue.Queue.
func (q *Queue) Extend(ctx context.Context, l queue.Lease) (queue.Lease, error) {
	at := time.Now()
	if err := q.reclaimOwn(ctx, l, 0, "extending the lease of"); err != nil {
		return l, err
	}
	l.Expires = at.Add(q.opts.Visibility)
	return l, nil
}

// Nack implements queue.Queue.
func (q *Queue) Nack(ctx context.Context, l queue.Lease) error {
	return q.reclaimOwn(ctx, l, q.opts.Visibility, "handing back")
}

// KEYS: stream, jobs. ARGV: group, entry id, job id. Acknowledge and delete the entry; forget the
// job only if the hash still points at this entry (not at a later enqueue of the same id).
var ackScript = goredis.NewScript(`
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[2], ARGV[3]) end
return 1`)

// Ack implements queue.Queue.
func (q *Queue) Ack(ctx context.Context, l queue.Lease) error {
	if err := ackScript.Run(ctx, q.c, []string{q.stream, q.jobs}, q.grp, l.Token, l.JobID).Err(); err != nil {
		return fmt.Errorf("acknowledging job %s: %w", l.JobID, err)
	}
	return nil
}

// KEYS: stream, jobs. ARGV: group, job id.
var removeScript = goredis.NewScript(`
local id = redis.call('HGET', KEYS[2], ARGV[2])
if not id then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], id)
redis.call('XDEL', KEYS[1], id)
redis.call('HDEL', KEYS[2], ARGV[2])
return 1`)

// Remove implements queue.Queue.
func (q *Queue) Remove(ctx context.Context, jobID string) error {
	if err := removeScript.Run(ctx, q.c, []string{q.stream, q.jobs}, q.grp, jobID).Err(); err != nil {
		return fmt.Errorf("removing job %s from the queue: %w", jobID, err)
	}
	return nil
}

// maxScan caps the pending-list reads of Len and Position; the pending list holds the jobs
// workers are running, a few hundred at most.
const maxScan = 100000

// KEYS: stream. ARGV: group, visibility ms, max. Waiting = entries never delivered (stream
// length minus pending) plus pending entries idle past the visibility timeout.
var lenScript = goredis.NewScript(`
local n = redis.call('XLEN', KEYS[1])
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
local expired = #redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[2], '-', '+', ARGV[3])
return n - pending + expired`)

// Len implements queue.Queue.
func (q *Queue) Len(ctx context.Context) (int, error) {
	n, err := lenScript.Run(ctx, q.c, []string{q.stream}, q.grp, q.opts.Visibility.Milliseconds(), maxScan).Int()
	if err != nil {
		return 0, fmt.Errorf("counting waiting jobs: %w", err)
	}
	return n, nil
}

// KEYS: stream, jobs. ARGV: group, job id, visibility ms, max. Entries are delivered in ID order,
// so every pending entry is older than every undelivered one: the jobs waiting ahead of an entry
// are the undelivered entries up to it plus the expired pending ones up to it.
var positionScript = goredis.NewScript(`
local id = redis.call('HGET', KEYS[2], ARGV[2])
if not id then return -1 end
local mine = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
if #mine > 0 and mine[1][3] < tonumber(ARGV[3]) then return 0 end
local upto = #redis.call('XRANGE', KEYS[1], '-', id)
local pending = #redis.call('XPENDING', KEYS[1], ARGV[1], '-', id, ARGV[4])
local expired = #redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', id, ARGV[4])
return upto - pending + expired`)

// Position implements queue.Queue.
func (q *Queue) Position(ctx context.Context, jobID string) (int, error) {
	n, err := positionScript.Run(ctx, q.c, []string{q.stream, q.jobs}, q.grp, jobID, q.opts.Visibility.Milliseconds(), maxScan).Int()
	if err != nil {
		return 0, fmt.Errorf("finding job %s in the queue: %w", jobID, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("job %s: %w", jobID, queue.ErrNotFound)
	}
	return n, nil
}
