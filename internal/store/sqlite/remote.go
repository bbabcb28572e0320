package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// A remote is one JSON document per repository: it is read and written whole (the poller's
// state changes together), and nothing queries inside it.

func scanRemote(s scanner) (store.Remote, error) {
	r, err := scanDoc[store.Remote](s)
	fixRemoteTimes(&r)
	return r, err
}

func fixRemoteTimes(r *store.Remote) {
	r.Created, r.Polled, r.NextPoll = r.Created.UTC(), r.Polled.UTC(), r.NextPoll.UTC()
}

// PutRemote implements store.Store.
func (db *DB) PutRemote(ctx context.Context, r store.Remote) (store.Remote, error) {
	if err := store.CheckRemote(r); err != nil {
		return store.Remote{}, err
	}
	if r.Created.IsZero() {
		r.Created = now()
	}
	fixRemoteTimes(&r)
	err := db.Write(ctx, func(tx *sql.Tx) error {
		if err := repoExists(ctx, tx, r.RepoID); err != nil {
			return err
		}
		return writeRemote(ctx, tx, r)
	})
	return r, err
}

func writeRemote(ctx context.Context, tx *sql.Tx, r store.Remote) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding the remote of repository %d: %w", r.RepoID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO remotes (repo_id, data) VALUES (?, ?)
		ON CONFLICT (repo_id) DO UPDATE SET data = excluded.data`, r.RepoID, raw); err != nil {
		return fmt.Errorf("storing the remote of repository %d: %w", r.RepoID, err)
	}
	return nil
}

// Remote implements store.Store.
func (db *DB) Remote(ctx context.Context, repoID int64) (store.Remote, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT data FROM remotes WHERE repo_id = ?`, repoID), scanRemote,
		fmt.Sprintf("remote of repository %d", repoID))
}

// ListRemotes implements store.Store.
func (db *DB) ListRemotes(ctx context.Context) ([]store.Remote, error) {
	rs, err := all(ctx, db.r, scanRemote, `SELECT data FROM remotes ORDER BY repo_id`)
	if err != nil {
		return nil, fmt.Errorf("listing remotes: %w", err)
	}
	return rs, nil
}

// UpdateRemote implements store.Store.
func (db *DB) UpdateRemote(ctx context.Context, repoID int64, fn func(*store.Remote) error) (store.Remote, error) {
	var out store.Remote
	err := db.Write(ctx, func(tx *sql.Tx) error {
		r, err := one(tx.QueryRowContext(ctx, `SELECT data FROM remotes WHERE repo_id = ?`, repoID), scanRemote,
			fmt.Sprintf("remote of repository %d", repoID))
		if err != nil {
			return err
		}
		keep := r
		if err := fn(&r); err != nil {
			return fmt.Errorf("updating the remote of repository %d: %w", repoID, err)
		}
		r.RepoID, r.Created = keep.RepoID, keep.Created
		if err := store.CheckRemote(r); err != nil {
			return err
		}
		fixRemoteTimes(&r)
		out = r
		return writeRemote(ctx, tx, r)
	})
	return out, err
}

// DeleteRemote implements store.Store.
func (db *DB) DeleteRemote(ctx context.Context, repoID int64) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM remotes WHERE repo_id = ?`, repoID)
		if err != nil {
			return fmt.Errorf("deleting the remote of repository %d: %w", repoID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("remote of repository %d: %w", repoID, store.ErrNotFound)
		}
		return nil
	})
}
