package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

const buildCols = `id, repo_id, commit_sha, ref_kind, ref_name, trigger_kind, actor, forced, status, created, started, finished, delivery_id`

func scanBuild(s scanner) (store.Build, error) {
	var b store.Build
	var created, started, finished int64
	err := s.Scan(&b.ID, &b.RepoID, &b.CommitSHA, &b.Ref.Kind, &b.Ref.Name, &b.Trigger, &b.Actor, &b.Forced, &b.Status,
		&created, &started, &finished, &b.DeliveryID)
	b.Created, b.Started, b.Finished = fromNanos(created), fromNanos(started), fromNanos(finished)
	return b, err
}

// CreateBuild implements store.Store.
func (db *DB) CreateBuild(ctx context.Context, b store.Build) (store.Build, error) {
	if err := store.CheckBuild(b); err != nil {
		return store.Build{}, err
	}
	if b.Created.IsZero() {
		b.Created = now()
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "repositories", b.RepoID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO builds (repo_id, commit_sha, ref_kind, ref_name, trigger_kind, actor,
			forced, status, created, started, finished, delivery_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			b.RepoID, b.CommitSHA, b.Ref.Kind, b.Ref.Name, b.Trigger, b.Actor, b.Forced, b.Status,
			toNanos(b.Created), toNanos(b.Started), toNanos(b.Finished), b.DeliveryID)
		if err != nil {
			return fmt.Errorf("storing build of %s: %w", b.Ref, err)
		}
		b.ID, err = res.LastInsertId()
		return err
	})
	b.Created, b.Started, b.Finished = b.Created.UTC(), b.Started.UTC(), b.Finished.UTC()
	return b, err
}

// exists returns store.ErrNotFound unless table has a row with that id.
func exists(ctx context.Context, tx *sql.Tx, table string, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s row %d: %w", strings.TrimSuffix(table, "s"), id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("looking up %s %d: %w", table, id, err)
	}
	return nil
}

// Build implements store.Store.
func (db *DB) Build(ctx context.Context, id int64) (store.Build, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT `+buildCols+` FROM builds WHERE id = ?`, id), scanBuild, fmt.Sprintf("build %d", id))
}

// UpdateBuild implements store.Store.
func (db *DB) UpdateBuild(ctx context.Context, id int64, fn func(*store.Build) error) (store.Build, error) {
	var out store.Build
	err := db.Write(ctx, func(tx *sql.Tx) error {
		b, err := one(tx.QueryRowContext(ctx, `SELECT `+buildCols+` FROM builds WHERE id = ?`, id), scanBuild, fmt.Sprintf("build %d", id))
		if err != nil {
			return err
		}
		keep := b
		if err := fn(&b); err != nil {
			return fmt.Errorf("updating build %d: %w", id, err)
		}
		b.ID, b.RepoID, b.Ref = keep.ID, keep.RepoID, keep.Ref
		if err := store.CheckBuild(b); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE builds SET commit_sha = ?, trigger_kind = ?, actor = ?, forced = ?, status = ?,
			created = ?, started = ?, finished = ?, delivery_id = ? WHERE id = ?`,
			b.CommitSHA, b.Trigger, b.Actor, b.Forced, b.Status, toNanos(b.Created), toNanos(b.Started), toNanos(b.Finished), b.DeliveryID, id)
		if err != nil {
			return fmt.Errorf("writing build %d: %w", id, err)
		}
		b.Created, b.Started, b.Finished = b.Created.UTC(), b.Started.UTC(), b.Finished.UTC()
		out = b
		return nil
	})
	return out, err
}

// LatestBuild implements store.Store.
func (db *DB) LatestBuild(ctx context.Context, repoID int64, ref store.Ref) (store.Build, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT `+buildCols+` FROM builds WHERE repo_id = ? AND ref_kind = ? AND ref_name = ?
		ORDER BY id DESC LIMIT 1`, repoID, ref.Kind, ref.Name), scanBuild, fmt.Sprintf("build of %s", ref))
}

// LatestBuilds implements store.Store.
func (db *DB) LatestBuilds(ctx context.Context, repoID int64) ([]store.Build, error) {
	bs, err := all(ctx, db.r, scanBuild, `SELECT `+buildCols+` FROM builds WHERE id IN (
		SELECT max(id) FROM builds WHERE repo_id = ? GROUP BY ref_kind, ref_name) ORDER BY id DESC`, repoID)
	if err != nil {
		return nil, fmt.Errorf("listing the latest builds of repository %d: %w", repoID, err)
	}
	return bs, nil
}

// ListBuilds implements store.Store.
func (db *DB) ListBuilds(ctx context.Context, q store.BuildQuery) ([]store.Build, error) {
	where, args := []string{"repo_id = ?"}, []any{q.RepoID}
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if q.Ref.Kind != "" {
		add("ref_kind = ?", q.Ref.Kind)
	}
	if q.Ref.Name != "" {
		add("ref_name = ?", q.Ref.Name)
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if q.Trigger != "" {
		add("trigger_kind = ?", q.Trigger)
	}
	if q.Before != 0 {
		add("id < ?", q.Before)
	}
	args = append(args, store.Limit(q.Limit))
	bs, err := all(ctx, db.r, scanBuild, `SELECT `+buildCols+` FROM builds WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("listing builds of repository %d: %w", q.RepoID, err)
	}
	return bs, nil
}
