// Package sqlite is the embedded job queue: a table in the store's SQLite file, so queued jobs
// survive a restart of `openwrt-ppa serve` together with the history that refers to them.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	storesqlite "github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// schema is the queue's migration history; append, never edit. A row is a job in the queue:
// waiting when lease_until is 0 or past, leased otherwise. seq keeps enqueue order, also for a
// job handed back, which so returns to the front. Times are nanoseconds.
var schema = []string{
	`CREATE TABLE queue (
		seq         INTEGER PRIMARY KEY AUTOINCREMENT,
		job_id      TEXT NOT NULL UNIQUE,
		payload     BLOB,
		enqueued    INTEGER NOT NULL,
		worker      TEXT NOT NULL DEFAULT '',
		lease_until INTEGER NOT NULL DEFAULT 0,
		attempts    INTEGER NOT NULL DEFAULT 0
	)`,
}

// Options configures a Queue.
type Options struct {
	// Visibility is the lease length; queue.DefaultVisibility when zero.
	Visibility time.Duration
	// Poll bounds how long a waiting Dequeue sleeps before looking again (for leases that ran
	// out); 1s when zero. Enqueues in this process wake it at once.
	Poll time.Duration
}

// Queue is the SQLite queue.
type Queue struct {
	db   *storesqlite.DB
	opts Options

	mu   sync.Mutex
	wake chan struct{} // closed and replaced on every Enqueue and Nack
}

var _ queue.Queue = (*Queue)(nil)

// New returns the queue in db's file, creating its table if needed. The queue does not own db.
func New(ctx context.Context, db *storesqlite.DB, opts Options) (*Queue, error) {
	if opts.Visibility <= 0 {
		opts.Visibility = queue.DefaultVisibility
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if err := db.Migrate(ctx, "queue", schema); err != nil {
		return nil, err
	}
	return &Queue{db: db, opts: opts, wake: make(chan struct{})}, nil
}

func (q *Queue) signal() {
	q.mu.Lock()
	close(q.wake)
	q.wake = make(chan struct{})
	q.mu.Unlock()
}

func (q *Queue) waiter() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.wake
}

// token identifies a lease: the row and the delivery it was.
func token(seq int64, attempt int) string { return fmt.Sprintf("%d:%d", seq, attempt) }

func parseToken(l queue.Lease) (seq int64, attempt int, err error) {
	a, b, ok := strings.Cut(l.Token, ":")
	seq, err1 := strconv.ParseInt(a, 10, 64)
	attempt, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("lease token %q of job %s was not made by this queue", l.Token, l.JobID)
	}
	return seq, attempt, nil
}

// Enqueue implements queue.Queue.
func (q *Queue) Enqueue(ctx context.Context, jobID string, payload []byte) error {
	err := q.db.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO queue (job_id, payload, enqueued) VALUES (?, ?, ?)
			ON CONFLICT (job_id) DO NOTHING`, jobID, payload, time.Now().UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("enqueueing job %s: %w", jobID, err)
	}
	q.signal()
	return nil
}

// Dequeue implements queue.Queue.
func (q *Queue) Dequeue(ctx context.Context, worker string) (queue.Lease, error) {
	for {
		wake := q.waiter() // before trying, so an Enqueue during the try is not missed
		l, next, err := q.try(ctx, worker)
		if err != nil || l.JobID != "" {
			return l, err
		}
		wait := q.opts.Poll
		if next > 0 && next < wait {
			wait = next
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return queue.Lease{}, fmt.Errorf("waiting for a job: %w", ctx.Err())
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// try leases the front job, or reports how long until the next lease runs out (0: none).
func (q *Queue) try(ctx context.Context, worker string) (queue.Lease, time.Duration, error) {
	var l queue.Lease
	var next time.Duration
	err := q.db.Write(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq, job_id, payload, attempts FROM queue WHERE lease_until < ?
			ORDER BY seq LIMIT 1`, now.UnixNano()).Scan(&seq, &l.JobID, &l.Payload, &l.Attempt)
		if errors.Is(err, sql.ErrNoRows) {
			var until sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT min(lease_until) FROM queue`).Scan(&until); err != nil {
				return err
			}
			if until.Valid {
				next = time.Until(time.Unix(0, until.Int64)) + time.Millisecond
			}
			return nil
		}
		if err != nil {
			return err
		}
		l.Attempt++
		l.Worker, l.Expires, l.Token = worker, now.Add(q.opts.Visibility), token(seq, l.Attempt)
		_, err = tx.ExecContext(ctx, `UPDATE queue SET worker = ?, lease_until = ?, attempts = ? WHERE seq = ?`,
			worker, l.Expires.UnixNano(), l.Attempt, seq)
		return err
	})
	if err != nil {
		return queue.Lease{}, 0, fmt.Errorf("taking a job for %s: %w", worker, err)
	}
	return l, next, nil
}

// Extend implements queue.Queue.
func (q *Queue) Extend(ctx context.Context, l queue.Lease) (queue.Lease, error) {
	seq, attempt, err := parseToken(l)
	if err != nil {
		return l, err
	}
	now := time.Now()
	expires := now.Add(q.opts.Visibility)
	if err := q.update(ctx, l, `UPDATE queue SET lease_until = ? WHERE seq = ? AND attempts = ? AND worker = ? AND lease_until >= ?`,
		expires.UnixNano(), seq, attempt, l.Worker, now.UnixNano()); err != nil {
		return l, err
	}
	l.Expires = expires
	return l, nil
}

// Nack implements queue.Queue.
func (q *Queue) Nack(ctx context.Context, l queue.Lease) error {
	seq, attempt, err := parseToken(l)
	if err != nil {
		return err
	}
	if err := q.update(ctx, l, `UPDATE queue SET lease_until = 0, worker = '' WHERE seq = ? AND attempts = ? AND worker = ? AND lease_until >= ?`,
		seq, attempt, l.Worker, time.Now().UnixNano()); err != nil {
		return err
	}
	q.signal()
	return nil
}

// update runs a lease-checked statement: no row changed means the lease is not l's any more.
func (q *Queue) update(ctx context.Context, l queue.Lease, stmt string, args ...any) error {
	return q.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, stmt, args...)
		if err != nil {
			return fmt.Errorf("updating the lease of job %s: %w", l.JobID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("job %s (worker %s, attempt %d): %w", l.JobID, l.Worker, l.Attempt, queue.ErrLeaseLost)
		}
		return nil
	})
}

// Ack implements queue.Queue.
func (q *Queue) Ack(ctx context.Context, l queue.Lease) error {
	seq, _, err := parseToken(l)
	if err != nil {
		return err
	}
	return q.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue WHERE seq = ?`, seq); err != nil {
			return fmt.Errorf("acknowledging job %s: %w", l.JobID, err)
		}
		return nil
	})
}

// Remove implements queue.Queue.
func (q *Queue) Remove(ctx context.Context, jobID string) error {
	return q.db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue WHERE job_id = ?`, jobID); err != nil {
			return fmt.Errorf("removing job %s from the queue: %w", jobID, err)
		}
		return nil
	})
}

// Len implements queue.Queue.
func (q *Queue) Len(ctx context.Context) (int, error) {
	var n int
	if err := q.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM queue WHERE lease_until < ?`, time.Now().UnixNano()).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting waiting jobs: %w", err)
	}
	return n, nil
}

// Position implements queue.Queue.
func (q *Queue) Position(ctx context.Context, jobID string) (int, error) {
	now := time.Now().UnixNano()
	var seq, until int64
	err := q.db.Reader().QueryRowContext(ctx, `SELECT seq, lease_until FROM queue WHERE job_id = ?`, jobID).Scan(&seq, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("job %s: %w", jobID, queue.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("finding job %s in the queue: %w", jobID, err)
	}
	if until >= now {
		return 0, nil
	}
	var n int
	if err := q.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM queue WHERE lease_until < ? AND seq <= ?`, now, seq).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting jobs ahead of %s: %w", jobID, err)
	}
	return n, nil
}

// ReleaseLeases hands back every leased job at once and returns how many. The embedded mode runs
// all workers in the serve process, so at its start no lease can belong to a live worker: calling
// this then reruns the jobs that were running when the process stopped, without waiting for their
// leases to run out.
func (q *Queue) ReleaseLeases(ctx context.Context) (int, error) {
	var n int64
	err := q.db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE queue SET lease_until = 0, worker = '' WHERE lease_until != 0`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("handing back leased jobs: %w", err)
	}
	q.signal()
	return int(n), nil
}
