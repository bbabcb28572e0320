// Package redis is the shared store: history in Redis, so that several serve replicas and
// workers on other hosts see the same repositories, builds and jobs. Run Redis with AOF
// (appendonly yes) — it is the record.
//
// Every record is a JSON value under its own key; secondary indexes (paths, refs, pending jobs,
// successful results, logs) are sets and sorted sets written in the same MULTI/EXEC as the
// record, and read-modify-write updates are optimistic (WATCH), so no update is lost between
// processes. Keys of one store share a prefix; the layout assumes a single Redis (or a
// replicated primary), not Redis Cluster, whose transactions cannot span slots.
package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/keyseal"
)

// Options configures a Store.
type Options struct {
	// Prefix starts every key; "ppa:" when empty. Two stores with different prefixes share a
	// Redis without seeing each other.
	Prefix string
	// Sealer encrypts signing keys. Without it CreateSigningKey and SigningKey refuse to work.
	Sealer *keyseal.Sealer
}

// Store is the Redis store. It implements store.Store and store.KeyStore.
type Store struct {
	c      goredis.UniversalClient
	p      string
	sealer *keyseal.Sealer
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.KeyStore = (*Store)(nil)
)

// New returns a store on an open client. The client stays the caller's: Close does not close it
// (the queue, locks and log streams share it).
func New(c goredis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = "ppa:"
	}
	return &Store{c: c, p: opts.Prefix, sealer: opts.Sealer}
}

// Close implements store.Store; it leaves the client open (see New).
func (s *Store) Close() error { return nil }

func (s *Store) key(parts ...any) string {
	k := s.p
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += fmt.Sprint(p)
	}
	return k
}

func (s *Store) refKey(repoID int64, ref store.Ref) string {
	return s.key("repo", repoID, "ref", string(ref.Kind), ref.Name)
}

// refMember names a ref in a repository's set of refs; the kind holds no ":".
func refMember(ref store.Ref) string { return string(ref.Kind) + ":" + ref.Name }

func id(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// getJSON reads one record, turning a missing key into store.ErrNotFound.
func getJSON[T any](ctx context.Context, c goredis.Cmdable, key, what string) (T, error) {
	var v T
	b, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return v, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("reading %s: %w", what, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decoding %s (key %s): %w", what, key, err)
	}
	return v, nil
}

// mgetJSON reads many records in one round trip, in the order of keys, skipping missing ones
// (a record deleted between reading an index and reading the record).
func mgetJSON[T any](ctx context.Context, c goredis.Cmdable, keys []string) ([]T, error) {
	out := make([]T, 0, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := c.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading %d records: %w", len(keys), err)
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var x T
		if err := json.Unmarshal([]byte(str), &x); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", keys[i], err)
		}
		out = append(out, x)
	}
	return out, nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encoding a store record cannot fail: %v", err))
	}
	return string(b)
}

// maxRetries bounds optimistic transactions; contention on one record is a handful of
// processes, so running out means something is badly wrong.
const maxRetries = 100

// atomic runs fn under WATCH of keys and retries it when another client changed a watched key
// before EXEC.
func (s *Store) atomic(ctx context.Context, fn func(tx *goredis.Tx) error, keys ...string) error {
	for range maxRetries {
		err := s.c.Watch(ctx, fn, keys...)
		if !errors.Is(err, goredis.TxFailedErr) {
			return err
		}
		// Back off a little so contending writers do not retry in lockstep.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.IntN(2000)) * time.Microsecond):
		}
	}
	return fmt.Errorf("gave up after %d conflicting concurrent updates of %v; retry later", maxRetries, keys)
}

func now() time.Time { return time.Now().UTC() }

// score orders by time in a sorted set (milliseconds fit a float64 exactly).
func score(t time.Time) float64 { return float64(t.UnixMilli()) }
