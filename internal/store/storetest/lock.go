package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// RunLocker runs the lock suite against the lockers open makes (fresh for each test).
func RunLocker(t *testing.T, open func(t *testing.T) store.Locker) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, l store.Locker)
	}{
		{"exclusive per key", func(t *testing.T, l store.Locker) {
			a, err := l.Lock(ctx(t), "feed/a", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			c, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if _, err := l.Lock(c, "feed/a", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("second Lock of a held key = %v, want DeadlineExceeded", err)
			}
			b, err := l.Lock(ctx(t), "feed/b", time.Minute)
			if err != nil {
				t.Fatalf("another key is not free: %v", err)
			}
			for _, h := range []store.Lock{a, b} {
				if err := h.Unlock(ctx(t)); err != nil {
					t.Fatal(err)
				}
			}
			if err := a.Unlock(ctx(t)); !errors.Is(err, store.ErrLockLost) {
				t.Fatalf("second Unlock = %v, want ErrLockLost", err)
			}
		}},
		{"unlock hands the lock to a waiter", func(t *testing.T, l store.Locker) {
			a, err := l.Lock(ctx(t), "k", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			go func() {
				h, err := l.Lock(ctx(t), "k", time.Minute)
				if err == nil {
					err = h.Unlock(ctx(t))
				}
				got <- err
			}()
			time.Sleep(100 * time.Millisecond)
			if err := a.Unlock(ctx(t)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the waiter did not get the released lock")
			}
		}},
		{"an unrenewed lock expires and its holder cannot touch the next holding", func(t *testing.T, l store.Locker) {
			dead, err := l.Lock(ctx(t), "k", 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			next, err := l.Lock(ctx(t), "k", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(start); waited < 100*time.Millisecond {
				t.Fatalf("took a held lock after %v", waited)
			}
			if err := dead.Renew(ctx(t), time.Minute); !errors.Is(err, store.ErrLockLost) {
				t.Fatalf("Renew of an expired holding = %v, want ErrLockLost", err)
			}
			if err := dead.Unlock(ctx(t)); !errors.Is(err, store.ErrLockLost) {
				t.Fatalf("Unlock of an expired holding = %v, want ErrLockLost", err)
			}
			c, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			if _, err := l.Lock(c, "k", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the old holder's Unlock released the new holding: %v", err)
			}
			if err := next.Unlock(ctx(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{"renewing keeps the lock past its ttl", func(t *testing.T, l store.Locker) {
			// Margins are wide: CI machines run these next to Docker builds.
			const ttl = 1500 * time.Millisecond
			h, err := l.Lock(ctx(t), "k", ttl)
			if err != nil {
				t.Fatal(err)
			}
			for range 7 {
				time.Sleep(ttl / 5)
				if err := h.Renew(ctx(t), ttl); err != nil {
					t.Fatal(err)
				}
			}
			c, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			if _, err := l.Lock(c, "k", time.Minute); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a renewed lock was taken: %v", err)
			}
		}},
		{"WithLock excludes concurrent holders", func(t *testing.T, l store.Locker) {
			var inside, most atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					err := store.WithLock(ctx(t), l, "feed", 10*time.Second, func(context.Context) error {
						n := inside.Add(1)
						for {
							m := most.Load()
							if n <= m || most.CompareAndSwap(m, n) {
								break
							}
						}
						time.Sleep(20 * time.Millisecond)
						inside.Add(-1)
						return nil
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if most.Load() != 1 {
				t.Fatalf("%d holders at once", most.Load())
			}
		}},
		{"WithLock renews across a critical section longer than the ttl", func(t *testing.T, l store.Locker) {
			const ttl = time.Second
			err := store.WithLock(ctx(t), l, "feed", ttl, func(c context.Context) error {
				select {
				case <-c.Done():
					return c.Err()
				case <-time.After(3 * ttl):
					return nil
				}
			})
			if err != nil {
				t.Fatalf("WithLock over 4 ttls: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open(t)) })
	}
}
