package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// A repository's configuration is one JSON document, read and written whole, as a remote is.

func scanRepoConfig(s scanner) (store.RepoConfig, error) {
	c, err := scanDoc[store.RepoConfig](s)
	c.Updated = c.Updated.UTC()
	return c, err
}

// PutRepoConfig implements store.Store.
func (db *DB) PutRepoConfig(ctx context.Context, c store.RepoConfig) (store.RepoConfig, error) {
	if err := store.CheckRepoConfig(c); err != nil {
		return store.RepoConfig{}, err
	}
	if c.Updated.IsZero() {
		c.Updated = now()
	}
	c.Updated = c.Updated.UTC()
	raw, err := json.Marshal(c)
	if err != nil {
		return store.RepoConfig{}, fmt.Errorf("encoding the configuration of repository %d: %w", c.RepoID, err)
	}
	err = db.Write(ctx, func(tx *sql.Tx) error {
		if err := repoExists(ctx, tx, c.RepoID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO repo_configs (repo_id, data) VALUES (?, ?)
			ON CONFLICT (repo_id) DO UPDATE SET data = excluded.data`, c.RepoID, raw); err != nil {
			return fmt.Errorf("storing the configuration of repository %d: %w", c.RepoID, err)
		}
		return nil
	})
	return c, err
}

// RepoConfig implements store.Store.
func (db *DB) RepoConfig(ctx context.Context, repoID int64) (store.RepoConfig, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT data FROM repo_configs WHERE repo_id = ?`, repoID), scanRepoConfig,
		fmt.Sprintf("configuration of repository %d", repoID))
}

// DeleteRepoConfig implements store.Store.
func (db *DB) DeleteRepoConfig(ctx context.Context, repoID int64) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM repo_configs WHERE repo_id = ?`, repoID)
		if err != nil {
			return fmt.Errorf("deleting the configuration of repository %d: %w", repoID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("configuration of repository %d: %w", repoID, store.ErrNotFound)
		}
		return nil
	})
}
