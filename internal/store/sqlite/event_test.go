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
	path := filepath.Join(t.TempDir(), "db.sqlite")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	// A row the database refuses, as a full disk or a constraint would: the batch it lands in
	// must still store everyone else's.
	if _, err := db.Writer().ExecContext(t.Context(), `CREATE TRIGGER refuse BEFORE INSERT ON events
		WHEN NEW.delivery_id LIKE 'bad-%' BEGIN SELECT RAISE(ABORT, 'refused by test'); END`); err != nil {
		t.Fatal(err)
	}
	const n = 300
	type result struct {
		id  int64
		err error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
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
	}
	close(start)
	wg.Wait()

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
	db.events.mu.Lock()
	commits := db.events.commits
	db.events.mu.Unlock()
	if commits >= n/2 {
		t.Errorf("%d callers took %d transactions: concurrent saves were not grouped", n, commits)
	}
	t.Logf("%d concurrent saves in %d transactions", n, commits)
	if sameWon != 1 {
		t.Errorf("%d callers stored delivery \"same\", want 1", sameWon)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Every answered row is in the file; nothing else is.
	db, err = Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
