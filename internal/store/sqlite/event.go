package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// AddEventGuarded stores e and, in the same transaction, its replay guard: a second row, already
// processed, whose (Forge, DeliveryID) names what must be new (a body's hash). When the guard
// is a duplicate, e is still stored but as processed, and replay is true. One commit per
// delivery instead of three, shared with every delivery that arrived meanwhile; a crash
// leaves both rows or neither.
func (db *DB) AddEventGuarded(ctx context.Context, e, guard store.Event) (stored store.Event, replay bool, err error) {
	if err := store.CheckEvent(e); err != nil {
		return store.Event{}, false, err
	}
	if err := store.CheckEvent(guard); err != nil {
		return store.Event{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return store.Event{}, false, fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	if e.Received.IsZero() {
		e.Received = now()
	}
	e.Received = e.Received.UTC()
	guard.Received, guard.Processed = e.Received, true
	req := &eventReq{e: e, guard: &guard, done: make(chan struct{})}
	db.events.add(db, req)
	<-req.done
	return req.e, req.replay, req.err
}

// maxEventBatch bounds one group commit, so a flood of deliveries still gets answers in steps.
const maxEventBatch = 512

type eventReq struct {
	mark  int64 // MarkEventProcessed's event, or 0 for an insert
	e     store.Event
	guard *store.Event // AddEventGuarded's second row, or nil
	// replay: the guard was there before, so e was stored as processed.
	replay bool
	err    error
	done   chan struct{}
}

// eventBatcher collects AddEvent, AddEventGuarded and MarkEventProcessed calls. While a commit runs, new calls queue; the committer
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

// commitEvents writes a batch in one transaction. Each row has its own savepoint, so one
// caller's duplicate or failure is that caller's alone; a failed commit fails them all.
func (db *DB) commitEvents(batch []*eventReq) {
	// The transaction is every caller's: none of their contexts may cut it short.
	ctx := context.Background()
	err := db.Write(ctx, func(tx *sql.Tx) error {
		st := db.ev.bind(ctx, tx)
		for _, r := range batch {
			switch {
			case r.mark != 0:
				r.err = markProcessed(ctx, st, r.mark)
			case r.guard == nil:
				r.err = insertEvent(ctx, st, &r.e)
			default:
				r.replay, r.err = insertGuarded(ctx, st, &r.e, r.guard)
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range batch {
			if r.err == nil && r.mark != 0 {
				r.err = fmt.Errorf("marking event %d processed: %w", r.mark, err)
			} else if r.err == nil {
				r.err = fmt.Errorf("storing %s delivery %s: %w", r.e.Forge, r.e.DeliveryID, err)
			}
			r.e.ID, r.replay = 0, false
		}
	}
}

func insertEvent(ctx context.Context, st *txEventStmts, e *store.Event) error {
	if _, err := st.savepointEv.ExecContext(ctx); err != nil {
		return fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	res, err := st.insert.ExecContext(ctx, e.Forge, e.DeliveryID, e.Kind, []byte(e.Payload), toNanos(e.Received), e.Processed)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = store.ErrDuplicate
		} else if err == nil {
			e.ID, err = res.LastInsertId()
		}
	}
	if err != nil {
		_, _ = st.rollbackEv.ExecContext(ctx)
	}
	if _, rerr := st.releaseEv.ExecContext(ctx); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		e.ID = 0
		return fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	return nil
}

// insertGuarded inserts e and its guard within one savepoint: both, or (on an error) neither.
// A guard that is already there makes e processed: the body was taken before.
func insertGuarded(ctx context.Context, st *txEventStmts, e, guard *store.Event) (replay bool, err error) {
	if _, err := st.savepointPair.ExecContext(ctx); err != nil {
		return false, fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	defer func() {
		if err != nil {
			_, _ = st.rollbackPair.ExecContext(ctx)
			e.ID, replay = 0, false
		}
		if _, rerr := st.releasePair.ExecContext(ctx); rerr != nil && err == nil {
			err, e.ID, replay = fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, rerr), 0, false
		}
	}()
	if err := insertEvent(ctx, st, e); err != nil {
		return false, err
	}
	gerr := insertEvent(ctx, st, guard)
	if !errors.Is(gerr, store.ErrDuplicate) {
		// Stored, or a guard that cannot be written for another reason: that guards nothing,
		// and the event is taken as new (losing a delivery is worse than a rare replay).
		return false, nil
	}
	if _, err := st.markProcessed.ExecContext(ctx, e.ID); err != nil {
		return false, fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
	}
	e.Processed = true
	return true, nil
}

// MarkEventProcessed implements store.Store. It shares AddEvent's group commit: the event loop
// and the webhooks' inserts wait for one fsync together.
func (db *DB) MarkEventProcessed(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("marking event %d processed: %w", id, err)
	}
	if id == 0 {
		return fmt.Errorf("event %d: %w", id, store.ErrNotFound)
	}
	req := &eventReq{mark: id, done: make(chan struct{})}
	db.events.add(db, req)
	<-req.done
	return req.err
}

// markProcessed marks one event processed; a missing one is an error only for its caller.
func markProcessed(ctx context.Context, st *txEventStmts, id int64) error {
	res, err := st.markProcessed.ExecContext(ctx, id)
	if err != nil {
		return fmt.Errorf("marking event %d processed: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("event %d: %w", id, store.ErrNotFound)
	}
	return nil
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
