package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
	"github.com/openwrt-ppa/openwrt-ppa/internal/queue/queuetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func client(t testing.TB, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := client(t, srv.Addr)
	n := 0
	queuetest.Run(t, func(t *testing.T, visibility time.Duration) queue.Queue {
		n++
		q, err := New(t.Context(), c, Options{Prefix: fmt.Sprintf("t%d:", n), Visibility: visibility, Block: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return q
	})
}

// Two processes' workers on separate connections: the one holding a job is killed (its
// connection closes, it never extends), the other claims the job once the lease runs out.
func TestWorkerOfAnotherProcessClaimsADeadWorkersJob(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := t.Context()
	const vis = 500 * time.Millisecond
	c1 := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	q1, err := New(ctx, c1, Options{Visibility: vis})
	if err != nil {
		t.Fatal(err)
	}
	q2, err := New(ctx, client(t, srv.Addr), Options{Visibility: vis, Block: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q2.Enqueue(ctx, "job-1", []byte("build 1 x86_64")); err != nil {
		t.Fatal(err)
	}
	held, err := q1.Dequeue(ctx, "host-a/worker-1")
	if err != nil || held.JobID != "job-1" {
		t.Fatalf("first worker: %+v, %v", held, err)
	}
	c1.Close() // the process dies

	start := time.Now()
	l, err := q2.Dequeue(ctx, "host-b/worker-1")
	if err != nil {
		t.Fatal(err)
	}
	if l.JobID != "job-1" || string(l.Payload) != "build 1 x86_64" || l.Attempt != 2 {
		t.Fatalf("second worker got %+v", l)
	}
	if waited := time.Since(start); waited < vis/2 || waited > 10*time.Second {
		t.Fatalf("claimed after %v, want about the visibility timeout %v", waited, vis)
	}
	if err := q2.Ack(ctx, l); err != nil {
		t.Fatal(err)
	}
	if n, _ := q2.Len(ctx); n != 0 {
		t.Fatalf("Len after ack = %d", n)
	}
}

func TestQueueSurvivesRedisRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	ctx := context.Background()
	q, err := New(ctx, client(t, srv.Addr), Options{Visibility: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := q.Enqueue(ctx, id, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	held, err := q.Dequeue(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	q, err = New(ctx, client(t, srv.Addr), Options{Visibility: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := q.Len(ctx); err != nil || n != 2 {
		t.Fatalf("after restart Len = %d, %v; want 2", n, err)
	}
	if p, err := q.Position(ctx, "a"); err != nil || p != 0 {
		t.Fatalf("after restart the leased job's Position = %d, %v; want 0 (still leased)", p, err)
	}
	// The lease survived too: its holder can extend and finish it.
	if _, err := q.Extend(ctx, held); err != nil {
		t.Fatalf("extending a lease across the restart: %v", err)
	}
	if l, err := q.Dequeue(ctx, "w"); err != nil || l.JobID != "b" {
		t.Fatalf("after restart Dequeue = %+v, %v; want b", l, err)
	}
}

func BenchmarkQueue(b *testing.B) {
	for _, fsync := range []string{"everysec", "always"} {
		b.Run("appendfsync="+fsync, func(b *testing.B) {
			srv := testenv.StartRedis(b, "--appendfsync", fsync)
			q, err := New(context.Background(), client(b, srv.Addr), Options{Visibility: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			queuetest.Bench(b, q)
		})
	}
}

// Redis lost its data (restarted without AOF, or flushed): the queue makes its group again and
// keeps working instead of failing every Dequeue with NOGROUP.
func TestQueueRecoversFromLostGroup(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := client(t, srv.Addr)
	ctx := t.Context()
	q, err := New(ctx, c, Options{Visibility: time.Minute, Block: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, "after-flush", []byte("p")); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l, err := q.Dequeue(dctx, "w")
	if err != nil || l.JobID != "after-flush" {
		t.Fatalf("Dequeue after the group was lost = %+v, %v", l, err)
	}
}
