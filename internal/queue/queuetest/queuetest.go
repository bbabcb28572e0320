// Package queuetest is the conformance suite every queue.Queue implementation passes.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/queue"
)

// Opener gives each test a fresh, empty queue with the given visibility timeout.
type Opener func(t *testing.T, visibility time.Duration) queue.Queue

// visibility is short so that reclaim tests run quickly, long enough for a loaded CI machine
// (Docker builds next door) to extend in time.
const visibility = time.Second

type test struct {
	name string
	run  func(t *testing.T, q queue.Queue)
}

// Run runs the suite against the queues open makes.
func Run(t *testing.T, open Opener) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t, visibility))
		})
	}
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return c
}

func enqueue(t *testing.T, q queue.Queue, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := q.Enqueue(ctx(t, 5*time.Second), id, []byte("payload of "+id)); err != nil {
			t.Fatalf("Enqueue(%s): %v", id, err)
		}
	}
}

func dequeue(t *testing.T, q queue.Queue, worker string) queue.Lease {
	t.Helper()
	l, err := q.Dequeue(ctx(t, 10*time.Second), worker)
	if err != nil {
		t.Fatalf("Dequeue(%s): %v", worker, err)
	}
	return l
}

func wantLen(t *testing.T, q queue.Queue, want int) {
	t.Helper()
	if n, err := q.Len(ctx(t, 5*time.Second)); err != nil || n != want {
		t.Fatalf("Len = %d, %v; want %d", n, err, want)
	}
}

func wantPositions(t *testing.T, q queue.Queue, want map[string]int) {
	t.Helper()
	for id, w := range want {
		got, err := q.Position(ctx(t, 5*time.Second), id)
		if w < 0 {
			if !errors.Is(err, queue.ErrNotFound) {
				t.Fatalf("Position(%s) = %d, %v; want ErrNotFound", id, got, err)
			}
			continue
		}
		if err != nil || got != w {
			t.Fatalf("Position(%s) = %d, %v; want %d", id, got, err, w)
		}
	}
}

var tests = []test{
	{"fifo with positions and lengths", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a", "b", "c")
		wantLen(t, q, 3)
		wantPositions(t, q, map[string]int{"a": 1, "b": 2, "c": 3, "zz": -1})
		l := dequeue(t, q, "w1")
		if l.JobID != "a" || string(l.Payload) != "payload of a" || l.Attempt != 1 || l.Worker != "w1" || time.Until(l.Expires) <= 0 {
			t.Fatalf("first lease = %+v", l)
		}
		wantLen(t, q, 2)
		wantPositions(t, q, map[string]int{"a": 0, "b": 1, "c": 2})
		if l2 := dequeue(t, q, "w2"); l2.JobID != "b" {
			t.Fatalf("second lease = %s, want b", l2.JobID)
		}
	}},
	{"enqueue of a queued or leased job changes nothing", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a", "b")
		if err := q.Enqueue(t.Context(), "a", []byte("other")); err != nil {
			t.Fatal(err)
		}
		wantLen(t, q, 2)
		l := dequeue(t, q, "w")
		if string(l.Payload) != "payload of a" {
			t.Fatalf("payload replaced: %q", l.Payload)
		}
		enqueue(t, q, "a") // leased: still nothing
		wantLen(t, q, 1)
		wantPositions(t, q, map[string]int{"a": 0, "b": 1})
	}},
	{"ack removes, twice is fine, the id can come back", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a")
		l := dequeue(t, q, "w")
		for range 2 {
			if err := q.Ack(t.Context(), l); err != nil {
				t.Fatalf("Ack: %v", err)
			}
		}
		wantLen(t, q, 0)
		wantPositions(t, q, map[string]int{"a": -1})
		if _, err := q.Extend(t.Context(), l); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("Extend after Ack = %v, want ErrLeaseLost", err)
		}
		enqueue(t, q, "a")
		if l2 := dequeue(t, q, "w"); l2.JobID != "a" || l2.Attempt != 1 {
			t.Fatalf("re-enqueued job leased as %+v", l2)
		}
	}},
	{"dequeue waits for a job, and gives up with the context", func(t *testing.T, q queue.Queue) {
		c, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := q.Dequeue(c, "w"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dequeue on an empty queue = %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited < 250*time.Millisecond || waited > 3*time.Second {
			t.Fatalf("Dequeue waited %v for a 300ms context", waited)
		}
		got := make(chan queue.Lease, 1)
		go func() {
			l, err := q.Dequeue(ctx(t, 10*time.Second), "w")
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
		time.Sleep(100 * time.Millisecond)
		enqueue(t, q, "late")
		select {
		case l := <-got:
			if l.JobID != "late" {
				t.Fatalf("waiting Dequeue got %q", l.JobID)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a waiting Dequeue did not get a job enqueued after it started waiting")
		}
	}},
	{"nack hands back at the front", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a", "b")
		l := dequeue(t, q, "w")
		if err := q.Nack(t.Context(), l); err != nil {
			t.Fatal(err)
		}
		wantLen(t, q, 2)
		wantPositions(t, q, map[string]int{"a": 1, "b": 2})
		if err := q.Nack(t.Context(), l); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("second Nack = %v, want ErrLeaseLost", err)
		}
		again := dequeue(t, q, "w")
		if again.JobID != "a" || again.Attempt != 2 {
			t.Fatalf("after Nack got %s attempt %d, want a attempt 2", again.JobID, again.Attempt)
		}
		if _, err := q.Extend(t.Context(), l); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("Extend of the handed-back lease = %v, want ErrLeaseLost", err)
		}
		if _, err := q.Extend(t.Context(), again); err != nil {
			t.Fatalf("Extend of the new lease: %v", err)
		}
	}},
	{"a dead worker's job is taken over after the visibility timeout", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a")
		dead := dequeue(t, q, "w1") // w1 "dies": it never extends
		start := time.Now()
		l := dequeue(t, q, "w2")
		if waited := time.Since(start); l.JobID != "a" || l.Attempt != 2 || waited < visibility/2 {
			t.Fatalf("w2 got %s attempt %d after %v; want a, attempt 2, after about %v", l.JobID, l.Attempt, waited, visibility)
		}
		if _, err := q.Extend(t.Context(), dead); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("the dead worker's Extend = %v, want ErrLeaseLost", err)
		}
		if err := q.Nack(t.Context(), dead); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("the dead worker's Nack = %v, want ErrLeaseLost", err)
		}
		// The slow worker finishing after all: its Ack is accepted (the job is done) and the
		// worker that took over learns it at its next heartbeat.
		if err := q.Ack(t.Context(), dead); err != nil {
			t.Fatal(err)
		}
		if _, err := q.Extend(t.Context(), l); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("Extend after the job was acknowledged = %v, want ErrLeaseLost", err)
		}
		wantLen(t, q, 0)
	}},
	{"a lease that ran out cannot be extended even before another worker claims it", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a")
		l := dequeue(t, q, "w1")
		time.Sleep(visibility + 100*time.Millisecond)
		if _, err := q.Extend(t.Context(), l); !errors.Is(err, queue.ErrLeaseLost) {
			t.Fatalf("Extend after the lease ran out = %v, want ErrLeaseLost", err)
		}
		wantLen(t, q, 1)
		wantPositions(t, q, map[string]int{"a": 1})
	}},
	{"extending keeps the job from other workers", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a")
		l := dequeue(t, q, "w1")
		jobCtx, stop := queue.Heartbeat(t.Context(), q, l, visibility/5)
		c, cancel := context.WithTimeout(t.Context(), 2*visibility)
		defer cancel()
		if got, err := q.Dequeue(c, "w2"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("w2 took %q from a worker that kept extending: %v", got.JobID, err)
		}
		if jobCtx.Err() != nil {
			t.Fatalf("the heartbeat gave up: %v", context.Cause(jobCtx))
		}
		latest := stop()
		if !latest.Expires.After(l.Expires) {
			t.Fatalf("stop returned a lease expiring %v, not after the first %v", latest.Expires, l.Expires)
		}
		if err := q.Ack(t.Context(), latest); err != nil {
			t.Fatal(err)
		}
	}},
	{"remove takes out waiting and leased jobs; the holder's heartbeat stops the job", func(t *testing.T, q queue.Queue) {
		enqueue(t, q, "a", "b", "c")
		l := dequeue(t, q, "w")
		jobCtx, stop := queue.Heartbeat(t.Context(), q, l, 50*time.Millisecond)
		defer stop()
		for _, id := range []string{"b", "a", "nope"} {
			if err := q.Remove(t.Context(), id); err != nil {
				t.Fatalf("Remove(%s): %v", id, err)
			}
		}
		wantLen(t, q, 1)
		wantPositions(t, q, map[string]int{"a": -1, "b": -1, "c": 1})
		select {
		case <-jobCtx.Done():
			if !errors.Is(context.Cause(jobCtx), queue.ErrLeaseLost) {
				t.Fatalf("job context ended with %v, want ErrLeaseLost", context.Cause(jobCtx))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the heartbeat of a removed job did not stop it")
		}
		if got := dequeue(t, q, "w"); got.JobID != "c" {
			t.Fatalf("after removals got %s, want c", got.JobID)
		}
	}},
	{"concurrent workers get every job exactly once", func(t *testing.T, q queue.Queue) {
		const jobs, workers = 60, 6
		for i := range jobs {
			enqueue(t, q, fmt.Sprintf("j%02d", i))
		}
		var mu sync.Mutex
		seen := map[string]int{}
		// Workers run until every job is acknowledged (or the test's time runs out).
		all, stop := context.WithTimeout(t.Context(), 60*time.Second)
		defer stop()
		var acked atomic.Int32
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for {
					l, err := q.Dequeue(all, fmt.Sprintf("w%d", w))
					if all.Err() != nil {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					seen[l.JobID]++
					mu.Unlock()
					if err := q.Ack(t.Context(), l); err != nil {
						t.Error(err)
					}
					if acked.Add(1) == jobs {
						stop()
					}
				}
			})
		}
		wg.Wait()
		if len(seen) != jobs {
			t.Fatalf("%d distinct jobs delivered, want %d", len(seen), jobs)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("job %s delivered %d times", id, n)
			}
		}
		wantLen(t, q, 0)
	}},
}
