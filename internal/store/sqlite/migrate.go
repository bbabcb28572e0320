package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Migrate brings one component's tables up to date. steps is the component's whole history:
// steps[i] takes the schema from version i to i+1. Steps are only ever appended — a released
// step never changes — so a database remembers how far it got and runs the rest, all in one
// transaction. Components (the store, the queue) version their tables independently.
func (db *DB) Migrate(ctx context.Context, component string, steps []string) error {
	return db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_versions (
			component TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("creating schema_versions: %w", err)
		}
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_versions WHERE component = ?`, component).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading the %s schema version: %w", component, err)
		}
		if v > len(steps) {
			return fmt.Errorf("the database's %s schema is version %d but this openwrt-ppa knows only %d: it was written by a newer release; run that release or restore a backup", component, v, len(steps))
		}
		for i := v; i < len(steps); i++ {
			if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
				return fmt.Errorf("migrating the %s schema to version %d: %w", component, i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_versions (component, version) VALUES (?, ?)
			ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, len(steps)); err != nil {
			return fmt.Errorf("recording the %s schema version: %w", component, err)
		}
		return nil
	})
}

// SchemaVersion returns the version a component's tables are at (0 when never migrated).
func (db *DB) SchemaVersion(ctx context.Context, component string) (int, error) {
	var v int
	err := db.r.QueryRowContext(ctx, `SELECT version FROM schema_versions WHERE component = ?`, component).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the %s schema version: %w", component, err)
	}
	return v, nil
}
