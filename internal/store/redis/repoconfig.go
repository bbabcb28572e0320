package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: repoconfig:<repo id> (JSON), removed with repo:<id> by DeleteRepository.

// PutRepoConfig implements store.Store. It writes under WATCH of the repository, so a
// configuration is never stored for a repository deleted meanwhile.
func (s *Store) PutRepoConfig(ctx context.Context, c store.RepoConfig) (store.RepoConfig, error) {
	if err := store.CheckRepoConfig(c); err != nil {
		return store.RepoConfig{}, err
	}
	if c.Updated.IsZero() {
		c.Updated = now()
	}
	c.Updated = c.Updated.UTC()
	rk := s.key("repo", c.RepoID)
	err := s.atomic(ctx, func(tx *goredis.Tx) error {
		n, err := tx.Exists(ctx, rk).Result()
		if err != nil {
			return fmt.Errorf("looking up repository %d: %w", c.RepoID, err)
		}
		if n == 0 {
			return fmt.Errorf("repository %d: %w", c.RepoID, store.ErrNotFound)
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, s.key("repoconfig", c.RepoID), mustJSON(c), 0)
			return nil
		})
		if err != nil {
			return fmt.Errorf("storing the configuration of repository %d: %w", c.RepoID, err)
		}
		return nil
	}, rk)
	if err != nil {
		return store.RepoConfig{}, err
	}
	return c, nil
}

// RepoConfig implements store.Store.
func (s *Store) RepoConfig(ctx context.Context, repoID int64) (store.RepoConfig, error) {
	c, err := getJSON[store.RepoConfig](ctx, s.c, s.key("repoconfig", repoID), fmt.Sprintf("configuration of repository %d", repoID))
	c.Updated = c.Updated.UTC()
	return c, err
}

// DeleteRepoConfig implements store.Store.
func (s *Store) DeleteRepoConfig(ctx context.Context, repoID int64) error {
	n, err := s.c.Del(ctx, s.key("repoconfig", repoID)).Result()
	if err != nil {
		return fmt.Errorf("deleting the configuration of repository %d: %w", repoID, err)
	}
	if n == 0 {
		return fmt.Errorf("configuration of repository %d: %w", repoID, store.ErrNotFound)
	}
	return nil
}
