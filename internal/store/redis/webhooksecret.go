package redis

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: secret:<id> (JSON); secrets:<forge> (sorted set of ids); secret-hash:<forge>:<sha256>
// (set of ids); secret-scope:<forge>:<sha256>:<kind>:<scope id> (the id; claimed with SET NX,
// so one secret is registered once per scope however many admins race).

func (s *Store) secretScopeKey(w store.WebhookSecret) string {
	return s.key("secret-scope", w.Forge, w.SHA256, w.ScopeKind, w.ScopeID)
}

// AddWebhookSecret implements store.Store.
func (s *Store) AddWebhookSecret(ctx context.Context, w store.WebhookSecret) (store.WebhookSecret, error) {
	if err := store.CheckWebhookSecret(w); err != nil {
		return store.WebhookSecret{}, err
	}
	if w.Created.IsZero() {
		w.Created = now()
	}
	w.Created = w.Created.UTC()
	n, err := s.c.Incr(ctx, s.key("seq", "secret")).Result()
	if err != nil {
		return store.WebhookSecret{}, fmt.Errorf("numbering a webhook secret: %w", err)
	}
	w.ID = n
	scope := s.secretScopeKey(w)
	ok, err := s.c.SetNX(ctx, scope, w.ID, 0).Result()
	if err != nil {
		return store.WebhookSecret{}, fmt.Errorf("claiming the webhook secret for %s %d: %w", w.ScopeKind, w.ScopeID, err)
	}
	if !ok {
		return store.WebhookSecret{}, fmt.Errorf("webhook secret for %s %d: %w", w.ScopeKind, w.ScopeID, store.ErrDuplicate)
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, s.key("secret", w.ID), mustJSON(w), 0)
		p.ZAdd(ctx, s.key("secrets", w.Forge), goredis.Z{Score: float64(w.ID), Member: w.ID})
		p.SAdd(ctx, s.key("secret-hash", w.Forge, w.SHA256), w.ID)
		return nil
	})
	if err != nil {
		// Free the scope again, so that the admin's retry is not taken for a duplicate.
		s.c.Del(context.WithoutCancel(ctx), scope)
		return store.WebhookSecret{}, fmt.Errorf("storing the webhook secret for %s %d: %w", w.ScopeKind, w.ScopeID, err)
	}
	return w, nil
}

func (s *Store) secretsByID(ctx context.Context, ids []string) ([]store.WebhookSecret, error) {
	keys := make([]string, len(ids))
	for i, x := range ids {
		keys[i] = s.key("secret", x)
	}
	ws, err := mgetJSON[store.WebhookSecret](ctx, s.c, keys)
	if err != nil {
		return nil, err
	}
	for i := range ws {
		ws[i].Created = ws[i].Created.UTC()
	}
	return ws, nil
}

// WebhookSecretsByHash implements store.Store.
func (s *Store) WebhookSecretsByHash(ctx context.Context, forge, sha256 string) ([]store.WebhookSecret, error) {
	ids, err := s.c.SMembers(ctx, s.key("secret-hash", forge, sha256)).Result()
	if err != nil {
		return nil, fmt.Errorf("looking up a webhook secret: %w", err)
	}
	ws, err := s.secretsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ws, func(a, b store.WebhookSecret) int { return cmp.Compare(a.ID, b.ID) })
	return ws, nil
}

// ListWebhookSecrets implements store.Store.
func (s *Store) ListWebhookSecrets(ctx context.Context, forge string) ([]store.WebhookSecret, error) {
	ids, err := s.c.ZRange(ctx, s.key("secrets", forge), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing webhook secrets: %w", err)
	}
	return s.secretsByID(ctx, ids)
}

// DeleteWebhookSecret implements store.Store.
func (s *Store) DeleteWebhookSecret(ctx context.Context, id int64) error {
	w, err := getJSON[store.WebhookSecret](ctx, s.c, s.key("secret", id), fmt.Sprintf("webhook secret %d", id))
	if err != nil {
		return err
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, s.key("secret", id), s.secretScopeKey(w))
		p.ZRem(ctx, s.key("secrets", w.Forge), id)
		p.SRem(ctx, s.key("secret-hash", w.Forge, w.SHA256), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting webhook secret %d: %w", id, err)
	}
	return nil
}
