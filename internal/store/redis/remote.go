package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: remote:<repo id> (JSON of sealedRemote); remotes (sorted set of repository ids).

// sealedRemote is a remote as stored: its webhook secret and deploy key sealed like signing
// keys, so a reader of Redis alone can neither forge deliveries nor clone private code.
type sealedRemote struct {
	store.Remote
	SealedSecret []byte `json:"sealed_secret,omitempty"`
	SealedKey    []byte `json:"sealed_deploy_key,omitempty"`
}

func remoteSealContext(repoID int64, what string) []byte {
	return fmt.Appendf(nil, "openwrt-ppa remote: repository %d, %s", repoID, what)
}

func (s *Store) sealRemote(r store.Remote) (sealedRemote, error) {
	out := sealedRemote{Remote: r}
	out.WebhookSecret, out.DeployKey = "", nil
	if r.WebhookSecret == "" && len(r.DeployKey) == 0 {
		return out, nil
	}
	if s.sealer == nil {
		return out, errNoSealer
	}
	var err error
	if r.WebhookSecret != "" {
		if out.SealedSecret, err = s.sealer.Seal([]byte(r.WebhookSecret), remoteSealContext(r.RepoID, "webhook secret")); err != nil {
			return out, fmt.Errorf("sealing the webhook secret of repository %d: %w", r.RepoID, err)
		}
	}
	if len(r.DeployKey) > 0 {
		if out.SealedKey, err = s.sealer.Seal(r.DeployKey, remoteSealContext(r.RepoID, "deploy key")); err != nil {
			return out, fmt.Errorf("sealing the deploy key of repository %d: %w", r.RepoID, err)
		}
	}
	return out, nil
}

func (s *Store) openRemote(sr sealedRemote) (store.Remote, error) {
	r := sr.Remote
	r.Created, r.Polled, r.NextPoll = r.Created.UTC(), r.Polled.UTC(), r.NextPoll.UTC()
	if len(sr.SealedSecret) == 0 && len(sr.SealedKey) == 0 {
		return r, nil
	}
	if s.sealer == nil {
		return r, errNoSealer
	}
	if len(sr.SealedSecret) > 0 {
		b, err := s.sealer.Open(sr.SealedSecret, remoteSealContext(r.RepoID, "webhook secret"))
		if err != nil {
			return r, fmt.Errorf("opening the webhook secret of repository %d: %w", r.RepoID, err)
		}
		r.WebhookSecret = string(b)
	}
	if len(sr.SealedKey) > 0 {
		b, err := s.sealer.Open(sr.SealedKey, remoteSealContext(r.RepoID, "deploy key"))
		if err != nil {
			return r, fmt.Errorf("opening the deploy key of repository %d: %w", r.RepoID, err)
		}
		r.DeployKey = b
	}
	return r, nil
}

// PutRemote implements store.Store.
func (s *Store) PutRemote(ctx context.Context, r store.Remote) (store.Remote, error) {
	if err := store.CheckRemote(r); err != nil {
		return store.Remote{}, err
	}
	if _, err := s.Repository(ctx, r.RepoID); err != nil {
		return store.Remote{}, err
	}
	if r.Created.IsZero() {
		r.Created = now()
	}
	r.Created = r.Created.UTC()
	sr, err := s.sealRemote(r)
	if err != nil {
		return store.Remote{}, err
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, s.key("remote", r.RepoID), mustJSON(sr), 0)
		p.ZAdd(ctx, s.key("remotes"), goredis.Z{Score: float64(r.RepoID), Member: r.RepoID})
		return nil
	})
	if err != nil {
		return store.Remote{}, fmt.Errorf("storing the remote of repository %d: %w", r.RepoID, err)
	}
	return r, nil
}

// Remote implements store.Store.
func (s *Store) Remote(ctx context.Context, repoID int64) (store.Remote, error) {
	sr, err := getJSON[sealedRemote](ctx, s.c, s.key("remote", repoID), fmt.Sprintf("remote of repository %d", repoID))
	if err != nil {
		return store.Remote{}, err
	}
	return s.openRemote(sr)
}

// ListRemotes implements store.Store.
func (s *Store) ListRemotes(ctx context.Context) ([]store.Remote, error) {
	ids, err := s.c.ZRange(ctx, s.key("remotes"), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("listing remotes: %w", err)
	}
	keys := make([]string, len(ids))
	for i, x := range ids {
		keys[i] = s.key("remote", x)
	}
	srs, err := mgetJSON[sealedRemote](ctx, s.c, keys)
	if err != nil {
		return nil, err
	}
	out := make([]store.Remote, 0, len(srs))
	for _, sr := range srs {
		r, err := s.openRemote(sr)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// UpdateRemote implements store.Store.
func (s *Store) UpdateRemote(ctx context.Context, repoID int64, fn func(*store.Remote) error) (store.Remote, error) {
	k := s.key("remote", repoID)
	var out store.Remote
	err := s.atomic(ctx, func(tx *goredis.Tx) error {
		sr, err := getJSON[sealedRemote](ctx, tx, k, fmt.Sprintf("remote of repository %d", repoID))
		if err != nil {
			return err
		}
		r, err := s.openRemote(sr)
		if err != nil {
			return err
		}
		keep := r
		if err := fn(&r); err != nil {
			return fmt.Errorf("updating the remote of repository %d: %w", repoID, err)
		}
		r.RepoID, r.Created = keep.RepoID, keep.Created
		if err := store.CheckRemote(r); err != nil {
			return err
		}
		next, err := s.sealRemote(r)
		if err != nil {
			return err
		}
		if _, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error { p.Set(ctx, k, mustJSON(next), 0); return nil }); err != nil {
			return fmt.Errorf("writing the remote of repository %d: %w", repoID, err)
		}
		r.Polled, r.NextPoll = r.Polled.UTC(), r.NextPoll.UTC()
		out = r
		return nil
	}, k)
	return out, err
}

// DeleteRemote implements store.Store.
func (s *Store) DeleteRemote(ctx context.Context, repoID int64) error {
	n, err := s.c.Del(ctx, s.key("remote", repoID)).Result()
	if err != nil {
		return fmt.Errorf("deleting the remote of repository %d: %w", repoID, err)
	}
	if err := s.c.ZRem(ctx, s.key("remotes"), repoID).Err(); err != nil {
		return fmt.Errorf("deleting the remote of repository %d: %w", repoID, err)
	}
	if n == 0 {
		return fmt.Errorf("remote of repository %d: %w", repoID, store.ErrNotFound)
	}
	return nil
}
