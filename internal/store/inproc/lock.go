// Package inproc holds the embedded mode's in-process equivalents of what Redis shares between
// processes in the scale-out mode: a lock map (store.Locker) and a log fan-out (store.LogStream).
// They keep the same contracts — locks expire unless renewed — so the service behaves the same
// on both.
package inproc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Locker is a map of expiring locks in this process.
type Locker struct {
	mu    sync.Mutex
	held  map[string]*holding
	token uint64
}

type holding struct {
	token   uint64
	expires time.Time
	freed   chan struct{} // closed when released
}

var _ store.Locker = (*Locker)(nil)

// NewLocker returns an empty lock map.
func NewLocker() *Locker { return &Locker{held: map[string]*holding{}} }

// Lock implements store.Locker.
func (l *Locker) Lock(ctx context.Context, key string, ttl time.Duration) (store.Lock, error) {
	for {
		l.mu.Lock()
		now := time.Now()
		h := l.held[key]
		if h == nil || now.After(h.expires) {
			if h != nil {
				close(h.freed) // expired: wake its other waiters too
			}
			l.token++
			nh := &holding{token: l.token, expires: now.Add(ttl), freed: make(chan struct{})}
			l.held[key] = nh
			l.mu.Unlock()
			return &lock{l: l, key: key, token: nh.token}, nil
		}
		freed, wait := h.freed, time.Until(h.expires)
		l.mu.Unlock()
		t := time.NewTimer(wait + time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for lock %q: %w", key, ctx.Err())
		case <-freed:
		case <-t.C:
		}
		t.Stop()
	}
}

type lock struct {
	l     *Locker
	key   string
	token uint64
}

// current returns the holding if it is still this lock's and unexpired; l.mu must be held.
func (k *lock) current() *holding {
	h := k.l.held[k.key]
	if h == nil || h.token != k.token || time.Now().After(h.expires) {
		return nil
	}
	return h
}

func (k *lock) Renew(_ context.Context, ttl time.Duration) error {
	k.l.mu.Lock()
	defer k.l.mu.Unlock()
	h := k.current()
	if h == nil {
		return fmt.Errorf("renewing lock %q: %w", k.key, store.ErrLockLost)
	}
	h.expires = time.Now().Add(ttl)
	return nil
}

func (k *lock) Unlock(_ context.Context) error {
	k.l.mu.Lock()
	defer k.l.mu.Unlock()
	h := k.current()
	if h == nil {
		return fmt.Errorf("releasing lock %q: %w", k.key, store.ErrLockLost)
	}
	delete(k.l.held, k.key)
	close(h.freed)
	return nil
}
