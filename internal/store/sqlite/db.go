// Package sqlite is the embedded store: one SQLite file (modernc.org/sqlite, pure Go) holding
// repositories, events, builds and jobs — and, through queue/sqlite, the job queue — so that
// `openwrt-ppa serve` needs no other server.
//
// SQLite allows one writer at a time. DB therefore keeps two connection pools on the file: a
// single writer connection, through which every write goes in an immediate transaction (so
// writers queue in Go instead of failing with SQLITE_BUSY), and a pool of read-only connections,
// which in WAL mode read alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// uriPath escapes what would end the path of an SQLite file: URI early, so a data dir named
// "builds #2" or "what?" still works.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// DB is an open SQLite database file. It implements store.Store; queue/sqlite keeps its queue
// table in the same file through Writer, Reader and Migrate.
type DB struct {
	w, r   *sql.DB
	events eventBatcher // AddEvent's group commit
	ev     eventStmts   // its statements, prepared once on the writer
}

// Open opens (creating it if needed) the database at path and brings the store's schema up to
// date. Close it when done.
func Open(ctx context.Context, path string) (*DB, error) {
	// synchronous=FULL: a commit is on disk before it returns, so an event stored before the
	// webhook's 202 survives a power cut, not only a crash of the process.
	params := url.Values{}
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_pragma", "synchronous(FULL)")
	uri := "file:" + uriPath.Replace(path)
	w, err := sql.Open("sqlite", uri+"?"+params.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Connect the writer first: it switches the file to WAL before any reader opens it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s (is the folder writable?): %w", path, err)
	}
	rp := url.Values{}
	rp.Add("_pragma", "busy_timeout(10000)")
	rp.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", uri+"?"+rp.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening %s for reading: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db := &DB{w: w, r: r}
	if err := db.Migrate(ctx, "store", storeSchema); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.ev.prepare(ctx, w); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Close closes both connection pools.
func (db *DB) Close() error {
	return errors.Join(db.ev.close(), db.r.Close(), db.w.Close())
}

// Writer is the single writer connection. Use it for every statement that changes the file.
func (db *DB) Writer() *sql.DB { return db.w }

// Reader is the pool of read-only connections.
func (db *DB) Reader() *sql.DB { return db.r }

// Write runs fn in an immediate transaction on the writer connection and commits it when fn
// returns nil.
func (db *DB) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("starting a write transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
