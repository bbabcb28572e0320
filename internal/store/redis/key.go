package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Keys: key:<repo id>:<kind> (JSON of sealedKey).

// sealedKey is a signing key as stored: the secret encrypted by the Sealer.
type sealedKey struct {
	Public  []byte    `json:"public"`
	Sealed  []byte    `json:"sealed_secret"`
	Created time.Time `json:"created"`
}

var errNoSealer = errors.New("no key encryption key configured: set OPENWRT_PPA_KEY_ENCRYPTION_KEY (32 bytes, base64; `openssl rand -base64 32`) on every serve and worker")

// sealContext binds a sealed secret to its repository and kind.
func sealContext(repoID int64, kind store.KeyKind) []byte {
	return fmt.Appendf(nil, "openwrt-ppa signing key: repository %d, %s", repoID, kind)
}

// CreateSigningKey implements store.KeyStore.
func (s *Store) CreateSigningKey(ctx context.Context, k store.SigningKey) error {
	if err := store.CheckSigningKey(k); err != nil {
		return err
	}
	if s.sealer == nil {
		return errNoSealer
	}
	sealed, err := s.sealer.Seal(k.Secret, sealContext(k.RepoID, k.Kind))
	if err != nil {
		return fmt.Errorf("sealing the %s key of repository %d: %w", k.Kind, k.RepoID, err)
	}
	if k.Created.IsZero() {
		k.Created = now()
	}
	rec := sealedKey{Public: k.Public, Sealed: sealed, Created: k.Created.UTC()}
	ok, err := s.c.SetNX(ctx, s.key("key", k.RepoID, string(k.Kind)), mustJSON(rec), 0).Result()
	if err != nil {
		return fmt.Errorf("storing the %s key of repository %d: %w", k.Kind, k.RepoID, err)
	}
	if !ok {
		return fmt.Errorf("%s key of repository %d: %w", k.Kind, k.RepoID, store.ErrDuplicate)
	}
	return nil
}

// SigningKey implements store.KeyStore.
func (s *Store) SigningKey(ctx context.Context, repoID int64, kind store.KeyKind) (store.SigningKey, error) {
	if s.sealer == nil {
		return store.SigningKey{}, errNoSealer
	}
	what := fmt.Sprintf("%s key of repository %d", kind, repoID)
	rec, err := getJSON[sealedKey](ctx, s.c, s.key("key", repoID, string(kind)), what)
	if err != nil {
		return store.SigningKey{}, err
	}
	secret, err := s.sealer.Open(rec.Sealed, sealContext(repoID, kind))
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("opening the %s (is OPENWRT_PPA_KEY_ENCRYPTION_KEY the one it was stored with?): %w", what, err)
	}
	return store.SigningKey{RepoID: repoID, Kind: kind, Public: rec.Public, Secret: secret, Created: rec.Created}, nil
}
