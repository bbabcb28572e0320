package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Locker is a lock per key in Redis (SET NX PX with a random token), shared by every process on
// the same Redis. A single Redis is the authority: this is not Redlock, and a failover to a
// replica that missed the SET can grant a lock twice. Feed publishing stages files and renames
// them last, so such an overlap leaves a consistent feed.
type Locker struct {
	c    goredis.UniversalClient
	p    string
	poll time.Duration
}

var _ store.Locker = (*Locker)(nil)

// NewLocker returns a Locker; prefix as in Options ("ppa:" when empty).
func NewLocker(c goredis.UniversalClient, prefix string) *Locker {
	if prefix == "" {
		prefix = "ppa:"
	}
	return &Locker{c: c, p: prefix + "lock:", poll: 50 * time.Millisecond}
}

// Lock implements store.Locker. A waiter polls (50 ms at first, backing off to 500 ms): the
// holders of a feed lock hold it for seconds, so a pub/sub wake-up would not pay for itself.
func (l *Locker) Lock(ctx context.Context, key string, ttl time.Duration) (store.Lock, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("making a lock token: %w", err)
	}
	token := hex.EncodeToString(b)
	wait := l.poll
	for {
		ok, err := l.c.SetNX(ctx, l.p+key, token, ttl).Result()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("waiting for lock %q: %w", key, ctx.Err())
			}
			return nil, fmt.Errorf("taking lock %q: %w", key, err)
		}
		if ok {
			return &lock{c: l.c, key: l.p + key, name: key, token: token}, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for lock %q: %w", key, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, 10*l.poll)
	}
}

type lock struct {
	c                goredis.UniversalClient
	key, name, token string
}

// Both act only while the key still holds this holding's token, so an expired holder never
// touches the next holding.
var (
	renewScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

func (k *lock) run(ctx context.Context, s *goredis.Script, doing string, args ...any) error {
	n, err := s.Run(ctx, k.c, []string{k.key}, append([]any{k.token}, args...)...).Int()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("%s lock %q: %w", doing, k.name, err)
	}
	if n == 0 {
		return fmt.Errorf("%s lock %q: %w", doing, k.name, store.ErrLockLost)
	}
	return nil
}

func (k *lock) Renew(ctx context.Context, ttl time.Duration) error {
	return k.run(ctx, renewScript, "renewing", ttl.Milliseconds())
}

func (k *lock) Unlock(ctx context.Context) error {
	return k.run(ctx, unlockScript, "releasing")
}
