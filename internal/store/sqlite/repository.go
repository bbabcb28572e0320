package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var _ store.Store = (*DB)(nil)

const repoCols = `id, forge, forge_id, owner, name, default_branch, private, installation_id, disabled, created, clone_url`

func scanRepo(s scanner) (store.Repository, error) {
	var r store.Repository
	var created int64
	err := s.Scan(&r.ID, &r.Forge, &r.ForgeID, &r.Owner, &r.Name, &r.DefaultBranch, &r.Private, &r.InstallationID, &r.Disabled, &created, &r.CloneURL)
	r.Created = fromNanos(created)
	return r, err
}

// PutRepository implements store.Store.
func (db *DB) PutRepository(ctx context.Context, r store.Repository) (store.Repository, error) {
	if err := store.CheckRepository(r); err != nil {
		return store.Repository{}, err
	}
	var out store.Repository
	err := db.Write(ctx, func(tx *sql.Tx) error {
		existing, err := one(tx.QueryRowContext(ctx, `SELECT `+repoCols+` FROM repositories WHERE forge = ? AND forge_id = ?`, r.Forge, r.ForgeID), scanRepo, "repository")
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		holder, err := one(tx.QueryRowContext(ctx, `SELECT `+repoCols+` FROM repositories WHERE path_key = ?`, store.PathKey(r.Owner, r.Name)), scanRepo, "repository")
		switch {
		case err == nil && holder.ID != existing.ID:
			return store.PathTakenError(r, holder)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		if existing.ID != 0 {
			r.ID, r.Created = existing.ID, existing.Created
			_, err = tx.ExecContext(ctx, `UPDATE repositories SET owner = ?, name = ?, path_key = ?, default_branch = ?,
				private = ?, installation_id = ?, disabled = ?, clone_url = ? WHERE id = ?`,
				r.Owner, r.Name, store.PathKey(r.Owner, r.Name), r.DefaultBranch, r.Private, r.InstallationID, r.Disabled, r.CloneURL, r.ID)
		} else {
			if r.Created.IsZero() {
				r.Created = now()
			}
			var res sql.Result
			res, err = tx.ExecContext(ctx, `INSERT INTO repositories (forge, forge_id, owner, name, path_key, default_branch,
				private, installation_id, disabled, created, clone_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				r.Forge, r.ForgeID, r.Owner, r.Name, store.PathKey(r.Owner, r.Name), r.DefaultBranch,
				r.Private, r.InstallationID, r.Disabled, toNanos(r.Created), r.CloneURL)
			if err == nil {
				r.ID, err = res.LastInsertId()
			}
		}
		if err != nil {
			return fmt.Errorf("writing repository %s: %w", r.Path(), err)
		}
		r.Created = r.Created.UTC()
		out = r
		return nil
	})
	return out, err
}

// Repository implements store.Store.
func (db *DB) Repository(ctx context.Context, id int64) (store.Repository, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT `+repoCols+` FROM repositories WHERE id = ?`, id), scanRepo, fmt.Sprintf("repository %d", id))
}

// RepositoryByPath implements store.Store.
func (db *DB) RepositoryByPath(ctx context.Context, owner, name string) (store.Repository, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT `+repoCols+` FROM repositories WHERE path_key = ?`, store.PathKey(owner, name)),
		scanRepo, fmt.Sprintf("repository %s/%s", owner, name))
}

// RepositoryByForgeID implements store.Store.
func (db *DB) RepositoryByForgeID(ctx context.Context, forge, forgeID string) (store.Repository, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT `+repoCols+` FROM repositories WHERE forge = ? AND forge_id = ?`, forge, forgeID),
		scanRepo, fmt.Sprintf("%s repository %s", forge, forgeID))
}

// ListRepositories implements store.Store.
func (db *DB) ListRepositories(ctx context.Context, q store.RepositoryQuery) ([]store.Repository, error) {
	where, args := []string{"path_key > ?"}, []any{q.After}
	if q.Search != "" {
		// instr, not LIKE: a search for "luci_app" or "100%" means those characters.
		where, args = append(where, "instr(path_key, ?) > 0"), append(args, strings.ToLower(q.Search))
	}
	if q.Forge != "" {
		where, args = append(where, "forge = ?"), append(args, q.Forge)
	}
	if !q.IncludeDisabled {
		where = append(where, "disabled = 0")
	}
	if q.PublicOnly {
		where = append(where, "private = 0")
	}
	args = append(args, store.Limit(q.Limit))
	rs, err := all(ctx, db.r, scanRepo, `SELECT `+repoCols+` FROM repositories WHERE `+strings.Join(where, " AND ")+` ORDER BY path_key LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing repositories: %w", err)
	}
	return rs, nil
}

// SetRepositoryDisabled implements store.Store.
func (db *DB) SetRepositoryDisabled(ctx context.Context, id int64, disabled bool) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE repositories SET disabled = ? WHERE id = ?`, disabled, id)
		if err != nil {
			return fmt.Errorf("disabling repository %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("repository %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// DeleteRepository implements store.Store.
func (db *DB) DeleteRepository(ctx context.Context, id int64) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		for _, stmt := range []string{
			`DELETE FROM jobs WHERE build_id IN (SELECT id FROM builds WHERE repo_id = ?)`,
			`DELETE FROM builds WHERE repo_id = ?`,
			`DELETE FROM remotes WHERE repo_id = ?`,
			`DELETE FROM repo_configs WHERE repo_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, stmt, id); err != nil {
				return fmt.Errorf("deleting the history of repository %d: %w", id, err)
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM repositories WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("deleting repository %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("repository %d: %w", id, store.ErrNotFound)
		}
		return nil
	})
}
