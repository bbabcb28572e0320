package redis

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/storetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func TestLocker(t *testing.T) {
	c := client(t, testenv.StartRedis(t).Addr)
	n := 0
	storetest.RunLocker(t, func(*testing.T) store.Locker {
		n++
		return NewLocker(c, fmt.Sprintf("t%d:", n))
	})
}

// Two processes (two clients) contend for one feed lock: the second gets it only after release.
func TestLockIsSharedAcrossClients(t *testing.T) {
	srv := testenv.StartRedis(t)
	ca, cb := client(t, srv.Addr), client(t, srv.Addr)
	n := 0
	storetest.RunLocker(t, func(*testing.T) store.Locker {
		n++
		p := fmt.Sprintf("t%d:", n)
		return &twoClients{a: NewLocker(ca, p), b: NewLocker(cb, p)}
	})
}

// twoClients alternates Lock calls between two Lockers on separate connections, so every
// exclusion the suite checks holds across processes.
type twoClients struct {
	a, b *Locker
	n    atomic.Int64
}

func (t *twoClients) Lock(ctx context.Context, key string, ttl time.Duration) (store.Lock, error) {
	if t.n.Add(1)%2 == 0 {
		return t.b.Lock(ctx, key, ttl)
	}
	return t.a.Lock(ctx, key, ttl)
}

func TestLogStream(t *testing.T) {
	c := client(t, testenv.StartRedis(t).Addr)
	n := 0
	storetest.RunLogStream(t, func(*testing.T) store.LogStream {
		n++
		return NewLogStream(c, LogOptions{Prefix: fmt.Sprintf("t%d:", n)})
	})
}
