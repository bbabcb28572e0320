package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

const eventCols = `id, forge, delivery_id, kind, payload, received, processed`

func scanEvent(s scanner) (store.Event, error) {
	var e store.Event
	var received int64
	var payload []byte
	err := s.Scan(&e.ID, &e.Forge, &e.DeliveryID, &e.Kind, &payload, &received, &e.Processed)
	e.Received, e.Payload = fromNanos(received), payload
	return e, err
}

// AddEvent implements store.Store. Concurrent calls are committed together (group commit):
// each waits until the transaction holding its row is durable, so a webhook's 202 still means
// "on disk", but one fsync serves every delivery that arrived meanwhile.
func (db *DB) AddEvent(ctx context.Context, e store.Event) (store.Event, error) {
	if err := store.CheckEvent(e); err != nil {
		return store.Event{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.Event{}, fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	if e.Received.IsZero() {
		e.Received = now()
	}
	e.Received = e.Received.UTC()
	req := &eventReq{e: e, done: make(chan struct{})}
	db.events.add(db, req)
	// Not abandoned on ctx: the row may be committing, and its caller must learn whether it was.
	<-req.done
	return req.e, req.err
}

// maxEventBatch bounds one group commit, so a flood of deliveries still gets answers in steps.
const maxEventBatch = 512

type eventReq struct {
	e    store.Event
	err  error
	done chan struct{}
}

// eventBatcher collects AddEvent calls. While a commit runs, new calls queue; the committer
// then takes all of them in the next transaction. It runs only while there is work.
type eventBatcher struct {
	mu      sync.Mutex
	pending []*eventReq
	running bool
	commits int // transactions run, for tests
}

func (b *eventBatcher) add(db *DB, r *eventReq) {
	b.mu.Lock()
	b.pending = append(b.pending, r)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	if start {
		go b.run(db)
	}
}

func (b *eventBatcher) run(db *DB) {
	for {
		b.mu.Lock()
		n := min(len(b.pending), maxEventBatch)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.commits++
		b.mu.Unlock()
		db.commitEvents(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// commitEvents inserts a batch in one transaction. Each row has its own savepoint, so one
// caller's duplicate or failure is that caller's alone; a failed commit fails them all.
func (db *DB) commitEvents(batch []*eventReq) {
	// The transaction is every caller's: none of their contexts may cut it short.
	ctx := context.Background()
	err := db.Write(ctx, func(tx *sql.Tx) error {
		for _, r := range batch {
			r.err = insertEvent(ctx, tx, &r.e)
		}
		return nil
	})
	if err != nil {
		for _, r := range batch {
			if r.err == nil {
				r.err = fmt.Errorf("storing %s delivery %s: %w", r.e.Forge, r.e.DeliveryID, err)
			}
			r.e.ID = 0
		}
	}
}

func insertEvent(ctx context.Context, tx *sql.Tx, e *store.Event) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT ev`); err != nil {
		return fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO events (forge, delivery_id, kind, payload, received, processed)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (forge, delivery_id) DO NOTHING`,
		e.Forge, e.DeliveryID, e.Kind, []byte(e.Payload), toNanos(e.Received), e.Processed)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = store.ErrDuplicate
		} else if err == nil {
			e.ID, err = res.LastInsertId()
		}
	}
	if err != nil {
		_, _ = tx.ExecContext(ctx, `ROLLBACK TO ev`)
	}
	if _, rerr := tx.ExecContext(ctx, `RELEASE ev`); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		e.ID = 0
		return fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	return nil
}

// MarkEventProcessed implements store.Store.
func (db *DB) MarkEventProcessed(ctx context.Context, id int64) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE events SET processed = 1 WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("marking event %d processed: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("event %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// UnprocessedEvents implements store.Store.
func (db *DB) UnprocessedEvents(ctx context.Context, limit int) ([]store.Event, error) {
	es, err := all(ctx, db.r, scanEvent, `SELECT `+eventCols+` FROM events WHERE processed = 0 ORDER BY received, id LIMIT ?`, store.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing unprocessed events: %w", err)
	}
	return es, nil
}

// PruneEvents implements store.Store.
func (db *DB) PruneEvents(ctx context.Context, receivedBefore time.Time) (int, error) {
	var n int64
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE processed = 1 AND received < ?`, toNanos(receivedBefore))
		if err != nil {
			return fmt.Errorf("pruning events: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// placeholders returns "?, ?, ?" for n arguments.
func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
