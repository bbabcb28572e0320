package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLockLost: the lock expired (it was not renewed in time) and may be held by someone else
// now. Whatever it protected must be treated as interrupted.
var ErrLockLost = errors.New("lock lost")

// Locker hands out named, expiring locks: the per-feed lock under which a feed is written. The
// embedded mode uses a lock map in the process (store/inproc); the Redis mode a lock in Redis
// that every serve and worker process shares (store/redis).
type Locker interface {
	// Lock blocks until it holds the lock named key, for ttl from now, or until ctx ends (its
	// error, wrapped). A holder that dies without unlocking frees the lock when ttl runs out.
	Lock(ctx context.Context, key string, ttl time.Duration) (Lock, error)
}

// Lock is one holding of a Locker's lock.
type Lock interface {
	// Renew extends the holding to ttl from now; ErrLockLost if it had already expired and
	// been taken.
	Renew(ctx context.Context, ttl time.Duration) error
	// Unlock releases the lock. Unlocking twice, or after expiry, gives ErrLockLost and never
	// releases someone else's holding.
	Unlock(ctx context.Context) error
}

// WithLock runs fn holding the lock named key, renewing it every ttl/3. If a renewal fails, fn's
// context is cancelled and WithLock returns ErrLockLost (wrapped) along with fn's error, so the
// caller knows its work may have overlapped another holder's.
func WithLock(ctx context.Context, l Locker, key string, ttl time.Duration, fn func(ctx context.Context) error) error {
	lk, err := l.Lock(ctx, key, ttl)
	if err != nil {
		return fmt.Errorf("taking lock %q: %w", key, err)
	}
	fctx, cancel := context.WithCancel(ctx)
	renewErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				renewErr <- nil
				return
			case <-t.C:
				if err := lk.Renew(fctx, ttl); err != nil {
					cancel()
					renewErr <- err
					return
				}
			}
		}
	}()
	ferr := fn(fctx)
	close(stop)
	rerr := <-renewErr
	cancel()
	// Unlock with a context that outlives a cancelled caller, so the lock is not left to expire.
	uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer ucancel()
	uerr := lk.Unlock(uctx)
	if rerr != nil {
		return errors.Join(ferr, fmt.Errorf("renewing lock %q: %w", key, rerr))
	}
	if ferr != nil {
		return ferr
	}
	if uerr != nil {
		return fmt.Errorf("releasing lock %q: %w", key, uerr)
	}
	return nil
}
