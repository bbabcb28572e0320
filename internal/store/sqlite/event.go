package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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

// AddEvent implements store.Store.
func (db *DB) AddEvent(ctx context.Context, e store.Event) (store.Event, error) {
	if err := store.CheckEvent(e); err != nil {
		return store.Event{}, err
	}
	if e.Received.IsZero() {
		e.Received = now()
	}
	e.Received = e.Received.UTC()
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO events (forge, delivery_id, kind, payload, received, processed)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (forge, delivery_id) DO NOTHING`,
			e.Forge, e.DeliveryID, e.Kind, []byte(e.Payload), toNanos(e.Received), e.Processed)
		if err != nil {
			return fmt.Errorf("storing %s delivery %s: %w", e.Forge, e.DeliveryID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s delivery %s: %w", e.Forge, e.DeliveryID, store.ErrDuplicate)
		}
		e.ID, err = res.LastInsertId()
		return err
	})
	return e, err
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
