package sqlite

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestReopenKeepsHistoryAndUnprocessedEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.PutRepository(t.Context(), store.Repository{Forge: "github", ForgeID: "1", Owner: "a", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := db.AddEvent(t.Context(), store.Event{Forge: "github", DeliveryID: "d1", Kind: "push", Payload: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer db.Close()
	if got, err := db.RepositoryByPath(t.Context(), "A", "B"); err != nil || got.ID != r.ID {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	un, err := db.UnprocessedEvents(t.Context(), 10)
	if err != nil || len(un) != 1 || un[0].ID != e.ID || string(un[0].Payload) != `{"x":1}` {
		t.Fatalf("the unprocessed event did not survive the restart: %+v, %v", un, err)
	}
}

func TestOpenUsesWALAndRefusesANewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.Reader().QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	if v, err := db.SchemaVersion(t.Context(), "store"); err != nil || v != len(storeSchema) {
		t.Fatalf("store schema version = %d, %v; want %d", v, err, len(storeSchema))
	}
	// A second component migrates independently and only once.
	steps := []string{`CREATE TABLE extra (x INTEGER)`}
	for range 2 {
		if err := db.Migrate(t.Context(), "extra", steps); err != nil {
			t.Fatalf("migrating twice must be a no-op: %v", err)
		}
	}
	if _, err := db.Writer().ExecContext(t.Context(), `UPDATE schema_versions SET version = 99 WHERE component = 'store'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), "newer release") {
		t.Fatalf("opening a database of a newer schema: %v, want a refusal that says so", err)
	}
}

func TestReadersDoNotSeeUncommittedWrites(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	boom := errors.New("boom")
	err = db.Write(t.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(t.Context(), `INSERT INTO repositories (forge, forge_id, owner, name, path_key, created) VALUES ('g', '1', 'a', 'b', 'a/b', 1)`); err != nil {
			return err
		}
		// A reader runs alongside the open write transaction (WAL) and sees the old state.
		if _, err := db.RepositoryByPath(t.Context(), "a", "b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reader saw an uncommitted row: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Write = %v", err)
	}
	if _, err := db.RepositoryByPath(t.Context(), "a", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rolled-back write is visible: %v", err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data #2 100% what?")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "db.sqlite")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.PutRepository(t.Context(), store.Repository{Forge: "g", ForgeID: "1", Owner: "a", Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not where asked: %v", err)
	}
}

// A file written by an older release (schema version 2) is brought up to date on Open, keeping
// its rows.
func TestOpenMigratesAnOlderSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.PutRepository(t.Context(), store.Repository{Forge: "g", ForgeID: "1", Owner: "a", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	// Turn the file back into what schema version 2 was: no status index, no secrets, remotes or repository configurations table.
	for _, stmt := range []string{`DROP INDEX jobs_by_status`, `DROP TABLE webhook_secrets`, `DROP TABLE remotes`, `DROP TABLE repo_configs`, `UPDATE schema_versions SET version = 2 WHERE component = 'store'`} {
		if _, err := db.Writer().ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, _ := db.SchemaVersion(t.Context(), "store"); v != len(storeSchema) {
		t.Fatalf("schema version after Open = %d, want %d", v, len(storeSchema))
	}
	var n int
	if err := db.Reader().QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'jobs_by_status'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("index of step 3 missing after migration: %d, %v", n, err)
	}
	if got, err := db.Repository(t.Context(), r.ID); err != nil || got.Path() != "a/b" {
		t.Fatalf("rows lost in migration: %+v, %v", got, err)
	}
}

func BenchmarkStore(b *testing.B) {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "db.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.Bench(b, db)
}
