package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: build:<id> (JSON); repo:<id>:builds (sorted set of build ids, score the id);
// repo:<id>:ref:<kind>:<name> (the same, per ref); repo:<id>:refs (set of "kind:name").

func buildFixTimes(b *store.Build) {
	b.Created, b.Started, b.Finished = b.Created.UTC(), b.Started.UTC(), b.Finished.UTC()
}

// CreateBuild implements store.Store.
func (s *Store) CreateBuild(ctx context.Context, b store.Build) (store.Build, error) {
	if err := store.CheckBuild(b); err != nil {
		return store.Build{}, err
	}
	if n, err := s.c.Exists(ctx, s.key("repo", b.RepoID)).Result(); err != nil {
		return store.Build{}, fmt.Errorf("looking up repository %d: %w", b.RepoID, err)
	} else if n == 0 {
		return store.Build{}, fmt.Errorf("repository %d: %w", b.RepoID, store.ErrNotFound)
	}
	if b.Created.IsZero() {
		b.Created = now()
	}
	buildFixTimes(&b)
	n, err := s.c.Incr(ctx, s.key("seq", "build")).Result()
	if err != nil {
		return store.Build{}, fmt.Errorf("numbering build: %w", err)
	}
	b.ID = n
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		z := goredis.Z{Score: float64(b.ID), Member: b.ID}
		p.Set(ctx, s.key("build", b.ID), mustJSON(b), 0)
		p.ZAdd(ctx, s.key("repo", b.RepoID, "builds"), z)
		p.ZAdd(ctx, s.refKey(b.RepoID, b.Ref), z)
		p.SAdd(ctx, s.key("repo", b.RepoID, "refs"), refMember(b.Ref))
		return nil
	})
	if err != nil {
		return store.Build{}, fmt.Errorf("storing build of %s: %w", b.Ref, err)
	}
	return b, nil
}

// Build implements store.Store.
func (s *Store) Build(ctx context.Context, id int64) (store.Build, error) {
	return getJSON[store.Build](ctx, s.c, s.key("build", id), fmt.Sprintf("build %d", id))
}

// UpdateBuild implements store.Store.
func (s *Store) UpdateBuild(ctx context.Context, id int64, fn func(*store.Build) error) (store.Build, error) {
	k := s.key("build", id)
	var out store.Build
	err := s.atomic(ctx, func(tx *goredis.Tx) error {
		b, err := getJSON[store.Build](ctx, tx, k, fmt.Sprintf("build %d", id))
		if err != nil {
			return err
		}
		keep := b
		if err := fn(&b); err != nil {
			return fmt.Errorf("updating build %d: %w", id, err)
		}
		b.ID, b.RepoID, b.Ref = keep.ID, keep.RepoID, keep.Ref
		if err := store.CheckBuild(b); err != nil {
			return err
		}
		buildFixTimes(&b)
		if _, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error { p.Set(ctx, k, mustJSON(b), 0); return nil }); err != nil {
			return fmt.Errorf("writing build %d: %w", id, err)
		}
		out = b
		return nil
	}, k)
	return out, err
}

func (s *Store) buildsByID(ctx context.Context, ids []string) ([]store.Build, error) {
	keys := make([]string, len(ids))
	for i, x := range ids {
		keys[i] = s.key("build", x)
	}
	return mgetJSON[store.Build](ctx, s.c, keys)
}

// LatestBuild implements store.Store.
func (s *Store) LatestBuild(ctx context.Context, repoID int64, ref store.Ref) (store.Build, error) {
	ids, err := s.c.ZRevRange(ctx, s.refKey(repoID, ref), 0, 0).Result()
	if err != nil {
		return store.Build{}, fmt.Errorf("finding the latest build of %s: %w", ref, err)
	}
	if len(ids) == 0 {
		return store.Build{}, fmt.Errorf("build of %s: %w", ref, store.ErrNotFound)
	}
	return getJSON[store.Build](ctx, s.c, s.key("build", ids[0]), "build "+ids[0])
}

// LatestBuilds implements store.Store.
func (s *Store) LatestBuilds(ctx context.Context, repoID int64) ([]store.Build, error) {
	refs, err := s.c.SMembers(ctx, s.key("repo", repoID, "refs")).Result()
	if err != nil {
		return nil, fmt.Errorf("listing refs of repository %d: %w", repoID, err)
	}
	cmds := make([]*goredis.StringSliceCmd, len(refs))
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, m := range refs {
			kind, name, _ := strings.Cut(m, ":")
			cmds[i] = p.ZRevRange(ctx, s.refKey(repoID, store.Ref{Kind: store.RefKind(kind), Name: name}), 0, 0)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finding the latest builds of repository %d: %w", repoID, err)
	}
	var ids []string
	for _, c := range cmds {
		if v := c.Val(); len(v) > 0 {
			ids = append(ids, v[0])
		}
	}
	bs, err := s.buildsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(bs, func(a, b store.Build) int { return int(b.ID - a.ID) })
	return bs, nil
}

// ListBuilds implements store.Store. It walks the repository's (or the ref's) builds newest
// first and filters, so a rare status reads far back; the UI pages by Before.
func (s *Store) ListBuilds(ctx context.Context, q store.BuildQuery) ([]store.Build, error) {
	z := s.key("repo", q.RepoID, "builds")
	if q.Ref.Kind != "" && q.Ref.Name != "" {
		z = s.refKey(q.RepoID, q.Ref)
	}
	limit := store.Limit(q.Limit)
	maxScore := "+inf"
	if q.Before != 0 {
		maxScore = "(" + strconv.FormatInt(q.Before, 10)
	}
	out := []store.Build{}
	const chunk = 200
	for len(out) < limit {
		ids, err := s.c.ZRevRangeByScore(ctx, z, &goredis.ZRangeBy{Min: "-inf", Max: maxScore, Count: chunk}).Result()
		if err != nil {
			return nil, fmt.Errorf("listing builds of repository %d: %w", q.RepoID, err)
		}
		if len(ids) == 0 {
			break
		}
		maxScore = "(" + ids[len(ids)-1]
		bs, err := s.buildsByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if !q.Match(b) {
				continue
			}
			if out = append(out, b); len(out) == limit {
				break
			}
		}
		if len(ids) < chunk {
			break
		}
	}
	return out, nil
}
