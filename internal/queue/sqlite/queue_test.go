package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue/queuetest"
	storesqlite "github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

func open(t testing.TB, path string, visibility time.Duration) (*storesqlite.DB, *Queue) {
	t.Helper()
	db, err := storesqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	q, err := New(context.Background(), db, Options{Visibility: visibility, Poll: 50 * time.Millisecond})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db, q
}

func TestConformance(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, visibility time.Duration) queue.Queue {
		db, q := open(t, filepath.Join(t.TempDir(), "db.sqlite"), visibility)
		t.Cleanup(func() { db.Close() })
		return q
	})
}

func TestJobsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db.sqlite")
	ctx := t.Context()
	db, q := open(t, path, time.Hour)
	for _, id := range []string{"a", "b", "c"} {
		if err := q.Enqueue(ctx, id, []byte("p-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	// a is leased when the process goes away: after the restart it must run again, not be lost.
	if _, err := q.Dequeue(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, q = open(t, path, time.Hour)
	defer db.Close()
	// The old lease lasts an hour; a restarted serve hands back what its own dead workers held.
	if n, _ := q.Len(ctx); n != 2 {
		t.Fatalf("after reopen Len = %d, want 2 waiting (a is still leased)", n)
	}
	if p, err := q.Position(ctx, "c"); err != nil || p != 2 {
		t.Fatalf("Position(c) = %d, %v; want 2", p, err)
	}
	if n, err := q.ReleaseLeases(ctx); err != nil || n != 1 {
		t.Fatalf("ReleaseLeases = %d, %v; want 1", n, err)
	}
	for i, want := range []string{"a", "b", "c"} {
		l, err := q.Dequeue(ctx, "w")
		if err != nil || l.JobID != want || string(l.Payload) != "p-"+want {
			t.Fatalf("Dequeue %d after reopen = %+v, %v; want %s", i, l, err, want)
		}
		if want == "a" && l.Attempt != 2 {
			t.Fatalf("the job running at the restart is attempt %d, want 2", l.Attempt)
		}
	}
}

func BenchmarkQueue(b *testing.B) {
	db, q := open(b, filepath.Join(b.TempDir(), "db.sqlite"), time.Minute)
	defer db.Close()
	queuetest.Bench(b, q)
}
