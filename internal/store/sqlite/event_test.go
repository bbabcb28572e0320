package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Group commit: many concurrent AddEvent calls share transactions, yet every caller hears
// about its own row only — stored (with its own ID, durable: there after reopening the file),
// a duplicate, or refused — and one caller's failure is no other's.
func TestAddEventGroupCommit(t *testing.T) {
	const n = 300
	type result struct {
		id  int64
		err error
	}
	results := make([]result, n)
	// A row the database refuses, as a full disk or a constraint would: the batch it lands in
	// must still store everyone else's.
	refuse := func(db *DB) error {
		_, err := db.Writer().ExecContext(t.Context(), `CREATE TRIGGER refuse BEFORE INSERT ON events
		WHEN NEW.delivery_id LIKE 'bad-%' BEGIN SELECT RAISE(ABORT, 'refused by test'); END`)
		return err
	}
	db, commits := groupCommit(t, n, refuse, func(db *DB, i int) {
		id := fmt.Sprint("d-", i)
		switch {
		case i%10 == 3:
			id = fmt.Sprint("bad-", i)
		case i%10 == 7:
			id = "same" // 30 callers race for one delivery id: one stores it
		}
		e, err := db.AddEvent(t.Context(), store.Event{Forge: "github", DeliveryID: id, Kind: "push", Payload: []byte(`{"i":` + fmt.Sprint(i) + `}`)})
		results[i] = result{e.ID, err}
	})

	ids := map[int64]bool{}
	sameWon := 0
	for i, r := range results {
		switch {
		case i%10 == 3:
			if r.err == nil || !strings.Contains(r.err.Error(), "refused by test") || r.id != 0 {
				t.Errorf("caller %d (refused row): %d, %v", i, r.id, r.err)
			}
		case i%10 == 7:
			if r.err == nil {
				sameWon++
			} else if !errors.Is(r.err, store.ErrDuplicate) {
				t.Errorf("caller %d (duplicate id): %v, want ErrDuplicate", i, r.err)
			}
		case r.err != nil:
			t.Errorf("caller %d: %v", i, r.err)
		}
		if r.err == nil {
			if r.id == 0 || ids[r.id] {
				t.Errorf("caller %d got ID %d (zero or another caller's)", i, r.id)
			}
			ids[r.id] = true
		}
	}
	if commits >= n/2 {
		t.Errorf("%d callers took %d transactions: concurrent saves were not grouped", n, commits)
	}
	t.Logf("%d concurrent saves in %d transactions", n, commits)
	if sameWon != 1 {
		t.Errorf("%d callers stored delivery \"same\", want 1", sameWon)
	}

	// Every answered row is in the file (db is the file reopened); nothing else is.
	got, err := db.UnprocessedEvents(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("%d events in the file after reopening, %d callers were told stored", len(got), len(ids))
	}
	for _, e := range got {
		if !ids[e.ID] {
			t.Errorf("event %d (%s) is stored but no caller was told so", e.ID, e.DeliveryID)
		}
	}
	if want := n - n/10 - n/10 + 1; len(got) != want {
		t.Errorf("%d events stored, want %d", len(got), want)
	}
}

// A failed commit reaches every caller of the batch, and none is told "stored".
func TestAddEventCommitFailureReachesEveryone(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	batch := []*eventReq{
		{e: store.Event{Forge: "github", DeliveryID: "a", Kind: "push"}, done: make(chan struct{})},
		{e: store.Event{Forge: "github", DeliveryID: "b", Kind: "push"}, done: make(chan struct{})},
	}
	// Make the commit itself fail: a deferred foreign key that the batch leaves broken.
	if _, err := db.Writer().ExecContext(t.Context(), `CREATE TABLE fk_guard (e INTEGER REFERENCES events(id) DEFERRABLE INITIALLY DEFERRED);
		CREATE TRIGGER orphan AFTER INSERT ON events WHEN NEW.delivery_id = 'b' BEGIN INSERT INTO fk_guard VALUES (-1); END;`); err != nil {
		t.Fatal(err)
	}
	db.commitEvents(batch)
	for _, r := range batch {
		if r.err == nil || r.e.ID != 0 {
			t.Errorf("%s: ID %d, err %v; want the commit's error", r.e.DeliveryID, r.e.ID, r.err)
		}
	}
	if got, _ := db.UnprocessedEvents(t.Context(), 10); len(got) != 0 {
		t.Errorf("%d events stored by a failed commit", len(got))
	}
}

// AddEventGuarded and MarkEventProcessed share AddEvent's group commit: concurrent deliveries
// with their replay guards and the event loop's marks take few transactions, yet each caller
// learns its own outcome and finds it in the file after reopening — a replayed body's event is
// stored processed, a guard is never an event to handle, a mark of a missing event fails alone.
func TestGuardedAddsAndMarksShareCommits(t *testing.T) {
	const n = 200
	type result struct {
		e      store.Event
		replay bool
		err    error
	}
	results := make([]result, n)
	var marked store.Event
	var markErr, missingErr error
	addMarked := func(db *DB) (err error) {
		marked, err = db.AddEvent(t.Context(), store.Event{Forge: "github", DeliveryID: "to-mark", Kind: "push"})
		return err
	}
	// n deliveries, then the loop's two marks, all at once.
	db, commits := groupCommit(t, n+2, addMarked, func(db *DB, i int) {
		switch i {
		case n:
			markErr = db.MarkEventProcessed(t.Context(), marked.ID)
			return
		case n + 1:
			missingErr = db.MarkEventProcessed(t.Context(), 1<<40)
			return
		}
		body := fmt.Sprint("body:", i)
		if i%4 == 1 {
			body = "body:shared" // 50 deliveries of one body under different ids: one is new
		}
		e, replay, err := db.AddEventGuarded(t.Context(),
			store.Event{Forge: "github", DeliveryID: fmt.Sprint("d-", i), Kind: "push", Payload: []byte(`{}`)},
			store.Event{Forge: "github", DeliveryID: body, Kind: "replay-guard"})
		results[i] = result{e, replay, err}
	})

	if markErr != nil || !errors.Is(missingErr, store.ErrNotFound) {
		t.Errorf("marks: %v; missing event: %v (want ErrNotFound)", markErr, missingErr)
	}
	replays, stored := 0, map[int64]bool{}
	for i, r := range results {
		if r.err != nil || r.e.ID == 0 {
			t.Errorf("delivery %d: %d, %v", i, r.e.ID, r.err)
			continue
		}
		stored[r.e.ID] = r.replay
		if r.replay {
			replays++
			if i%4 != 1 {
				t.Errorf("delivery %d with its own body was taken for a replay", i)
			}
		}
	}
	if replays != n/4-1 {
		t.Errorf("%d replays, want %d (every delivery of the shared body but one)", replays, n/4-1)
	}
	if commits >= n/2 {
		t.Errorf("%d guarded saves and 2 marks took %d transactions: they were not grouped", n, commits)
	}
	t.Logf("%d guarded saves and 2 marks in %d transactions", n, commits)

	// db is the file reopened.
	left, err := db.UnprocessedEvents(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if e.Kind != "push" || stored[e.ID] || e.ID == marked.ID {
			t.Errorf("left to handle after reopening: %d %s %s (a guard, a replay or a marked event)", e.ID, e.Kind, e.DeliveryID)
		}
	}
	if want := n - replays; len(left) != want {
		t.Errorf("%d events left to handle, want %d", len(left), want)
	}
	var guards, all int
	if err := db.Reader().QueryRowContext(t.Context(), `SELECT COUNT(*) FILTER (WHERE kind = 'replay-guard'), COUNT(*) FROM events`).Scan(&guards, &all); err != nil {
		t.Fatal(err)
	}
	if guards != n-replays || all != n+1+guards {
		t.Errorf("%d guards and %d rows in the file, want %d and %d", guards, all, n-replays, n+1+n-replays)
	}
}

// groupCommit opens a store in a new file, runs prepare on it, then call(db, i) for i in [0, n)
// all at once, so their writes meet in the group commit. It returns the number of transactions
// they took and the file reopened (closed when t ends): what a caller was told must be there.
func groupCommit(t *testing.T, n int, prepare func(*DB) error, call func(db *DB, i int)) (*DB, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := prepare(db); err != nil {
		_ = db.Close()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			call(db, i)
		})
	}
	close(start)
	wg.Wait()
	db.events.mu.Lock()
	commits := db.events.commits
	db.events.mu.Unlock()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, commits
}
