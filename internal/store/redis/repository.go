package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: repo:<id> (JSON); repo:byforge (hash forge\x00forgeID → id); repo:bypath (hash
// PathKey → id); repo:paths (sorted set of PathKeys, score 0, for ordered paging).

func forgeField(forge, forgeID string) string { return forge + "\x00" + forgeID }

// PutRepository implements store.Store.
func (s *Store) PutRepository(ctx context.Context, r store.Repository) (store.Repository, error) {
	if err := store.CheckRepository(r); err != nil {
		return store.Repository{}, err
	}
	byForge, byPath, paths := s.key("repo", "byforge"), s.key("repo", "bypath"), s.key("repo", "paths")
	pk := store.PathKey(r.Owner, r.Name)
	var out store.Repository
	err := s.atomic(ctx, func(tx *goredis.Tx) error {
		existingID, err := tx.HGet(ctx, byForge, forgeField(r.Forge, r.ForgeID)).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return fmt.Errorf("looking up repository %s: %w", r.Path(), err)
		}
		holderID, err := tx.HGet(ctx, byPath, pk).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return fmt.Errorf("looking up path %s: %w", r.Path(), err)
		}
		if holderID != "" && holderID != existingID {
			holder, err := getJSON[store.Repository](ctx, tx, s.key("repo", holderID), "repository "+holderID)
			if err != nil {
				return err
			}
			return store.PathTakenError(r, holder)
		}
		oldPK := ""
		if existingID != "" {
			old, err := getJSON[store.Repository](ctx, tx, s.key("repo", existingID), "repository "+existingID)
			if err != nil {
				return err
			}
			r.ID, r.Created, oldPK = old.ID, old.Created, store.PathKey(old.Owner, old.Name)
		} else {
			n, err := tx.Incr(ctx, s.key("seq", "repo")).Result()
			if err != nil {
				return fmt.Errorf("numbering repository: %w", err)
			}
			r.ID = n
			if r.Created.IsZero() {
				r.Created = now()
			}
		}
		r.Created = r.Created.UTC()
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, s.key("repo", r.ID), mustJSON(r), 0)
			p.HSet(ctx, byForge, forgeField(r.Forge, r.ForgeID), r.ID)
			if oldPK != "" && oldPK != pk {
				p.HDel(ctx, byPath, oldPK)
				p.ZRem(ctx, paths, oldPK)
			}
			p.HSet(ctx, byPath, pk, r.ID)
			p.ZAdd(ctx, paths, goredis.Z{Member: pk})
			return nil
		})
		if err != nil {
			return fmt.Errorf("writing repository %s: %w", r.Path(), err)
		}
		out = r
		return nil
	}, byForge, byPath)
	return out, err
}

// Repository implements store.Store.
func (s *Store) Repository(ctx context.Context, id int64) (store.Repository, error) {
	return getJSON[store.Repository](ctx, s.c, s.key("repo", id), fmt.Sprintf("repository %d", id))
}

func (s *Store) repoByIndex(ctx context.Context, hash, field, what string) (store.Repository, error) {
	id, err := s.c.HGet(ctx, hash, field).Result()
	if errors.Is(err, goredis.Nil) {
		return store.Repository{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return store.Repository{}, fmt.Errorf("looking up %s: %w", what, err)
	}
	return getJSON[store.Repository](ctx, s.c, s.key("repo", id), what)
}

// RepositoryByPath implements store.Store.
func (s *Store) RepositoryByPath(ctx context.Context, owner, name string) (store.Repository, error) {
	return s.repoByIndex(ctx, s.key("repo", "bypath"), store.PathKey(owner, name), "repository "+owner+"/"+name)
}

// RepositoryByForgeID implements store.Store.
func (s *Store) RepositoryByForgeID(ctx context.Context, forge, forgeID string) (store.Repository, error) {
	return s.repoByIndex(ctx, s.key("repo", "byforge"), forgeField(forge, forgeID), forge+" repository "+forgeID)
}

// ListRepositories implements store.Store. It walks the paths in order and filters, so a search
// reads every repository after q.After in the worst case: fine for thousands.
func (s *Store) ListRepositories(ctx context.Context, q store.RepositoryQuery) ([]store.Repository, error) {
	limit, search := store.Limit(q.Limit), strings.ToLower(q.Search)
	out := []store.Repository{}
	start := "-"
	if q.After != "" {
		start = "(" + q.After
	}
	const chunk = 200
	for len(out) < limit {
		pks, err := s.c.ZRangeByLex(ctx, s.key("repo", "paths"), &goredis.ZRangeBy{Min: start, Max: "+", Count: chunk}).Result()
		if err != nil {
			return nil, fmt.Errorf("listing repositories: %w", err)
		}
		if len(pks) == 0 {
			break
		}
		start = "(" + pks[len(pks)-1]
		ids, err := s.c.HMGet(ctx, s.key("repo", "bypath"), pks...).Result()
		if err != nil {
			return nil, fmt.Errorf("listing repositories: %w", err)
		}
		keys := make([]string, 0, len(ids))
		for _, v := range ids {
			if str, ok := v.(string); ok {
				keys = append(keys, s.key("repo", str))
			}
		}
		rs, err := mgetJSON[store.Repository](ctx, s.c, keys)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if (search != "" && !strings.Contains(store.PathKey(r.Owner, r.Name), search)) ||
				(q.Forge != "" && r.Forge != q.Forge) || (r.Disabled && !q.IncludeDisabled) || (r.Private && q.PublicOnly) {
				continue
			}
			if out = append(out, r); len(out) == limit {
				break
			}
		}
		if len(pks) < chunk {
			break
		}
	}
	return out, nil
}

// SetRepositoryDisabled implements store.Store.
func (s *Store) SetRepositoryDisabled(ctx context.Context, id int64, disabled bool) error {
	k := s.key("repo", id)
	return s.atomic(ctx, func(tx *goredis.Tx) error {
		r, err := getJSON[store.Repository](ctx, tx, k, "repository "+strconv.FormatInt(id, 10))
		if err != nil {
			return err
		}
		r.Disabled = disabled
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error { p.Set(ctx, k, mustJSON(r), 0); return nil })
		return err
	}, k)
}
