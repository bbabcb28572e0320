package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/keyseal"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/storetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func client(t *testing.T, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func sealer(t *testing.T) *keyseal.Sealer {
	k, err := keyseal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := keyseal.ParseKey(k)
	s, err := keyseal.New(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := client(t, srv.Addr)
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		// One server, a fresh prefix per test: tests cannot see each other's keys.
		n++
		return New(c, Options{Prefix: fmt.Sprintf("t%d:", n), Sealer: sealer(t)})
	})
}

func TestSigningKeySecretIsStoredSealed(t *testing.T) {
	srv := testenv.StartRedis(t)
	c := client(t, srv.Addr)
	ctx := t.Context()
	s := New(c, Options{Sealer: sealer(t)})
	r, err := s.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "a", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("untrusted comment: secret\nRWRTAAAAAAAAAAAAsecretbytes")
	if err := s.CreateSigningKey(ctx, store.SigningKey{RepoID: r.ID, Kind: store.KeyMain, Public: []byte("pub"), Secret: secret}); err != nil {
		t.Fatal(err)
	}
	raw, err := c.Get(ctx, "ppa:key:1:main").Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("secretbytes")) || bytes.Contains(raw, []byte("c2VjcmV0Ynl0ZXM")) {
		t.Fatalf("the secret is readable in Redis: %s", raw)
	}
	// Another encryption key cannot open it, and says what to check.
	other := New(c, Options{Sealer: sealer(t)})
	if _, err := other.SigningKey(ctx, r.ID, store.KeyMain); !errors.Is(err, keyseal.ErrOpen) {
		t.Fatalf("SigningKey with another key = %v, want keyseal.ErrOpen", err)
	}
	// Without an encryption key the store refuses rather than storing plaintext.
	if err := New(c, Options{Prefix: "x:"}).CreateSigningKey(ctx, store.SigningKey{RepoID: r.ID, Kind: store.KeyPreview, Public: []byte("p"), Secret: []byte("s")}); err == nil {
		t.Fatal("CreateSigningKey without a Sealer succeeded")
	}
}

func TestHistorySurvivesRedisRestart(t *testing.T) {
	srv := testenv.StartRedis(t)
	s := New(client(t, srv.Addr), Options{})
	ctx := context.Background()
	r, err := s.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "a", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.AddEvent(ctx, store.Event{Forge: "github", DeliveryID: "d", Kind: "push", Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	s = New(client(t, srv.Addr), Options{})
	if got, err := s.RepositoryByPath(ctx, "A", "b"); err != nil || got.ID != r.ID {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	if un, err := s.UnprocessedEvents(ctx, 10); err != nil || len(un) != 1 || un[0].ID != e.ID {
		t.Fatalf("unprocessed event lost in restart: %+v, %v", un, err)
	}
}

func BenchmarkStore(b *testing.B) {
	srv := testenv.StartRedis(b)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer c.Close()
	storetest.Bench(b, New(c, Options{}))
}
