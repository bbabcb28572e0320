package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

const secretCols = `id, forge, scope_kind, scope_id, sha256, note, created_by, created`

func scanSecret(s scanner) (store.WebhookSecret, error) {
	var w store.WebhookSecret
	var created int64
	err := s.Scan(&w.ID, &w.Forge, &w.ScopeKind, &w.ScopeID, &w.SHA256, &w.Note, &w.CreatedBy, &created)
	w.Created = fromNanos(created)
	return w, err
}

// AddWebhookSecret implements store.Store.
func (db *DB) AddWebhookSecret(ctx context.Context, w store.WebhookSecret) (store.WebhookSecret, error) {
	if err := store.CheckWebhookSecret(w); err != nil {
		return store.WebhookSecret{}, err
	}
	if w.Created.IsZero() {
		w.Created = now()
	}
	w.Created = w.Created.UTC()
	err := db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_secrets (forge, scope_kind, scope_id, sha256, note, created_by, created)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (forge, sha256, scope_kind, scope_id) DO NOTHING`,
			w.Forge, w.ScopeKind, w.ScopeID, w.SHA256, w.Note, w.CreatedBy, toNanos(w.Created))
		if err != nil {
			return fmt.Errorf("storing a webhook secret for %s %d: %w", w.ScopeKind, w.ScopeID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("webhook secret for %s %d: %w", w.ScopeKind, w.ScopeID, store.ErrDuplicate)
		}
		w.ID, err = res.LastInsertId()
		return err
	})
	return w, err
}

// WebhookSecretsByHash implements store.Store.
func (db *DB) WebhookSecretsByHash(ctx context.Context, forge, sha256 string) ([]store.WebhookSecret, error) {
	ws, err := all(ctx, db.r, scanSecret, `SELECT `+secretCols+` FROM webhook_secrets WHERE forge = ? AND sha256 = ? ORDER BY id`, forge, sha256)
	if err != nil {
		return nil, fmt.Errorf("looking up a webhook secret: %w", err)
	}
	return ws, nil
}

// ListWebhookSecrets implements store.Store.
func (db *DB) ListWebhookSecrets(ctx context.Context, forge string) ([]store.WebhookSecret, error) {
	ws, err := all(ctx, db.r, scanSecret, `SELECT `+secretCols+` FROM webhook_secrets WHERE forge = ? ORDER BY id`, forge)
	if err != nil {
		return nil, fmt.Errorf("listing webhook secrets: %w", err)
	}
	return ws, nil
}

// DeleteWebhookSecret implements store.Store.
func (db *DB) DeleteWebhookSecret(ctx context.Context, id int64) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_secrets WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("deleting webhook secret %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("webhook secret %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}
