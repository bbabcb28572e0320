package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// DeleteRepository implements store.Store. It purges the history first and unregisters the
// repository last, so that a removal cut short is finished by calling it again.
func (s *Store) DeleteRepository(ctx context.Context, id int64) error {
	r, err := s.Repository(ctx, id)
	if err != nil {
		return err
	}
	buildIDs, err := s.c.ZRange(ctx, s.key("repo", id, "builds"), 0, -1).Result()
	if err != nil {
		return fmt.Errorf("listing builds of repository %d: %w", id, err)
	}
	const chunk = 100
	for len(buildIDs) > 0 {
		n := min(chunk, len(buildIDs))
		if err := s.purgeBuilds(ctx, id, buildIDs[:n]); err != nil {
			return err
		}
		buildIDs = buildIDs[n:]
	}
	refs, err := s.c.SMembers(ctx, s.key("repo", id, "refs")).Result()
	if err != nil {
		return fmt.Errorf("listing refs of repository %d: %w", id, err)
	}
	del := []string{
		s.key("repo", id, "builds"), s.key("repo", id, "refs"), s.key("repo", id, "logs"),
		s.key("remote", id),
	}
	for _, kind := range store.KeyKinds {
		del = append(del, s.key("key", id, string(kind)))
	}
	for _, m := range refs {
		kind, name, _ := strings.Cut(m, ":")
		rk := s.refKey(id, store.Ref{Kind: store.RefKind(kind), Name: name})
		del = append(del, rk, rk+":pending")
	}
	if err := s.c.ZRem(ctx, s.key("remotes"), id).Err(); err != nil {
		return fmt.Errorf("deleting the remote of repository %d: %w", id, err)
	}
	if err := s.c.Del(ctx, del...).Err(); err != nil {
		return fmt.Errorf("deleting the indexes of repository %d: %w", id, err)
	}
	pk := store.PathKey(r.Owner, r.Name)
	byPath := s.key("repo", "bypath")
	return s.atomic(ctx, func(tx *goredis.Tx) error {
		holder, err := tx.HGet(ctx, byPath, pk).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return fmt.Errorf("looking up path %s: %w", r.Path(), err)
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			// With the repository in one step, so that a configuration written meanwhile
			// (PutRepoConfig watches the repository) cannot outlive it.
			p.Del(ctx, s.key("repo", id), s.key("repoconfig", id))
			p.HDel(ctx, s.key("repo", "byforge"), forgeField(r.Forge, r.ForgeID))
			if holder == fmt.Sprint(id) {
				p.HDel(ctx, byPath, pk)
				p.ZRem(ctx, s.key("repo", "paths"), pk)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("deleting repository %d: %w", id, err)
		}
		return nil
	}, byPath)
}

// purgeBuilds deletes builds, their jobs and the jobs' result-reuse entries.
func (s *Store) purgeBuilds(ctx context.Context, repoID int64, ids []string) error {
	jobCmds := make([]*goredis.StringSliceCmd, len(ids))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, b := range ids {
			jobCmds[i] = p.ZRange(ctx, s.key("build", b, "jobs"), 0, -1)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("listing jobs of repository %d: %w", repoID, err)
	}
	var jobIDs []string
	for _, c := range jobCmds {
		jobIDs = append(jobIDs, c.Val()...)
	}
	jobs, err := s.jobsByID(ctx, jobIDs)
	if err != nil {
		return err
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, j := range jobs {
			if j.ContentKey != "" {
				p.ZRem(ctx, s.key("success", j.ContentKey), j.ID)
			}
			p.ZRem(ctx, s.key("jobs", "pending"), j.ID)
			p.Del(ctx, s.key("job", j.ID))
		}
		for _, b := range ids {
			p.Del(ctx, s.key("build", b), s.key("build", b, "jobs"))
			p.ZRem(ctx, s.key("repo", repoID, "builds"), b)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting builds of repository %d: %w", repoID, err)
	}
	return nil
}
