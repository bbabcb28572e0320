package web

import (
	"context"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// authTTL is how long a forge's answer about a user's access is reused. Every page a signed-in
// user opens asks whether to show the Rebuild button; without the cache each view would cost a
// forge API call (and GitHub's rate limit). A revoked permission takes at most this long to
// show; the Rebuilder's own check at the forge is not cached.
const authTTL = time.Minute

// authCache remembers Authorizer answers per user, repository and question. Errors are not
// remembered: the next view asks again.
type authCache struct {
	inner Authorizer
	now   func() time.Time
	mu    sync.Mutex
	seen  map[authKey]authAnswer
}

type authKey struct {
	write bool
	repo  int64
	user  User
}

type authAnswer struct {
	ok      bool
	expires time.Time
}

var _ Authorizer = (*authCache)(nil)

func newAuthCache(inner Authorizer, now func() time.Time) *authCache {
	return &authCache{inner: inner, now: now, seen: map[authKey]authAnswer{}}
}

func (c *authCache) CanWrite(ctx context.Context, repo store.Repository, u User) (bool, error) {
	return c.ask(ctx, authKey{true, repo.ID, u}, repo, c.inner.CanWrite)
}

func (c *authCache) CanRead(ctx context.Context, repo store.Repository, u User) (bool, error) {
	return c.ask(ctx, authKey{false, repo.ID, u}, repo, c.inner.CanRead)
}

func (c *authCache) ask(ctx context.Context, k authKey, repo store.Repository,
	f func(context.Context, store.Repository, User) (bool, error)) (bool, error) {
	now := c.now()
	c.mu.Lock()
	a, ok := c.seen[k]
	c.mu.Unlock()
	if ok && now.Before(a.expires) {
		return a.ok, nil
	}
	allowed, err := f(ctx, repo, k.user)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Drop expired answers now and then, so the map does not grow with every visitor.
	if len(c.seen) > 10000 {
		for key, old := range c.seen {
			if !now.Before(old.expires) {
				delete(c.seen, key)
			}
		}
	}
	c.seen[k] = authAnswer{ok: allowed, expires: now.Add(authTTL)}
	return allowed, nil
}
