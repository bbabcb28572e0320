package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// A repository's configuration is one JSON document, read and written whole, as a remote is.

func scanRepoConfig(s scanner) (store.RepoConfig, error) {
	var raw []byte
	if err := s.Scan(&raw); err != nil {
		return store.RepoConfig{}, err
	}
	var c store.RepoConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("reading a stored repository configuration: %w", err)
	}
	c.Updated = c.Updated.UTC()
	return c, nil
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
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM repositories WHERE id = ?`, c.RepoID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("repository %d: %w", c.RepoID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("looking up repository %d: %w", c.RepoID, err)
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
