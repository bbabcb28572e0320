package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

const jobCols = `id, build_id, series, arch, image, content_key, status, check_run_id, result, log_path, created, started, finished, attempts, worker_id`

func scanJob(s scanner) (store.Job, error) {
	var j store.Job
	var created, started, finished int64
	var result []byte
	err := s.Scan(&j.ID, &j.BuildID, &j.Series, &j.Arch, &j.Image, &j.ContentKey, &j.Status, &j.CheckRunID, &result, &j.LogPath,
		&created, &started, &finished, &j.Attempts, &j.WorkerID)
	j.Created, j.Started, j.Finished = fromNanos(created), fromNanos(started), fromNanos(finished)
	if len(result) > 0 {
		j.Result = result
	}
	return j, err
}

// nullable keeps an empty result NULL rather than an empty blob.
func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateJobs implements store.Store.
func (db *DB) CreateJobs(ctx context.Context, jobs []store.Job) ([]store.Job, error) {
	out := make([]store.Job, 0, len(jobs))
	for _, j := range jobs {
		if j.Status == "" {
			j.Status = store.StatusQueued
		}
		if j.Created.IsZero() {
			j.Created = now()
		}
		if err := store.CheckJob(j); err != nil {
			return nil, err
		}
		j.Created, j.Started, j.Finished = j.Created.UTC(), j.Started.UTC(), j.Finished.UTC()
		out = append(out, j)
	}
	err := db.Write(ctx, func(tx *sql.Tx) error {
		for i := range out {
			j := &out[i]
			if err := exists(ctx, tx, "builds", j.BuildID); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO jobs (build_id, series, arch, image, content_key, status, check_run_id,
				result, log_path, created, started, finished, attempts, worker_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				j.BuildID, j.Series, j.Arch, j.Image, j.ContentKey, j.Status, j.CheckRunID, nullable(j.Result), j.LogPath,
				toNanos(j.Created), toNanos(j.Started), toNanos(j.Finished), j.Attempts, j.WorkerID)
			if err != nil {
				return fmt.Errorf("storing job %s/%s of build %d: %w", j.Series, j.Arch, j.BuildID, err)
			}
			if j.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Job implements store.Store.
func (db *DB) Job(ctx context.Context, id int64) (store.Job, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id), scanJob, fmt.Sprintf("job %d", id))
}

// UpdateJob implements store.Store.
func (db *DB) UpdateJob(ctx context.Context, id int64, fn func(*store.Job) error) (store.Job, error) {
	var out store.Job
	err := db.Write(ctx, func(tx *sql.Tx) error {
		j, err := one(tx.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id), scanJob, fmt.Sprintf("job %d", id))
		if err != nil {
			return err
		}
		keep := j
		if err := fn(&j); err != nil {
			return fmt.Errorf("updating job %d: %w", id, err)
		}
		j.ID, j.BuildID = keep.ID, keep.BuildID
		if err := store.CheckJob(j); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET series = ?, arch = ?, image = ?, content_key = ?, status = ?, check_run_id = ?,
			result = ?, log_path = ?, created = ?, started = ?, finished = ?, attempts = ?, worker_id = ? WHERE id = ?`,
			j.Series, j.Arch, j.Image, j.ContentKey, j.Status, j.CheckRunID, nullable(j.Result), j.LogPath,
			toNanos(j.Created), toNanos(j.Started), toNanos(j.Finished), j.Attempts, j.WorkerID, id)
		if err != nil {
			return fmt.Errorf("writing job %d: %w", id, err)
		}
		j.Created, j.Started, j.Finished = j.Created.UTC(), j.Started.UTC(), j.Finished.UTC()
		out = j
		return nil
	})
	return out, err
}

// JobsOfBuild implements store.Store.
func (db *DB) JobsOfBuild(ctx context.Context, buildID int64) ([]store.Job, error) {
	js, err := all(ctx, db.r, scanJob, `SELECT `+jobCols+` FROM jobs WHERE build_id = ? ORDER BY id`, buildID)
	if err != nil {
		return nil, fmt.Errorf("listing jobs of build %d: %w", buildID, err)
	}
	return js, nil
}

// LatestSuccessfulJob implements store.Store.
func (db *DB) LatestSuccessfulJob(ctx context.Context, contentKey string) (store.Job, error) {
	return one(db.r.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE content_key = ? AND status = ?
		ORDER BY finished DESC, id DESC LIMIT 1`, contentKey, store.StatusSuccess), scanJob, "successful job with that content key")
}

// PendingJobsBefore implements store.Store.
func (db *DB) PendingJobsBefore(ctx context.Context, repoID int64, ref store.Ref, buildID int64) ([]store.Job, error) {
	js, err := all(ctx, db.r, scanJob, `SELECT `+jobCols+` FROM jobs WHERE status IN (?, ?) AND build_id IN (
		SELECT id FROM builds WHERE repo_id = ? AND ref_kind = ? AND ref_name = ? AND id < ?) ORDER BY id`,
		store.StatusQueued, store.StatusRunning, repoID, ref.Kind, ref.Name, buildID)
	if err != nil {
		return nil, fmt.Errorf("listing pending jobs of %s before build %d: %w", ref, buildID, err)
	}
	return js, nil
}

// PendingJobs implements store.Store.
func (db *DB) PendingJobs(ctx context.Context, afterID int64, limit int) ([]store.Job, error) {
	js, err := all(ctx, db.r, scanJob, `SELECT `+jobCols+` FROM jobs WHERE status IN (?, ?) AND id > ? ORDER BY id LIMIT ?`,
		store.StatusQueued, store.StatusRunning, afterID, store.Limit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing pending jobs: %w", err)
	}
	return js, nil
}

// ExpiredLogs implements store.Store.
func (db *DB) ExpiredLogs(ctx context.Context, repoID int64, keep int) ([]store.Job, error) {
	js, err := all(ctx, db.r, scanJob, `SELECT `+jobCols+` FROM jobs WHERE log_path != '' AND build_id IN (
		SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY ref_kind, ref_name ORDER BY id DESC) AS rank
			FROM builds WHERE repo_id = ?) WHERE rank > ?) ORDER BY id`, repoID, keep)
	if err != nil {
		return nil, fmt.Errorf("listing expired logs of repository %d: %w", repoID, err)
	}
	return js, nil
}
