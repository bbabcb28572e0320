package store

import (
	"context"
	"fmt"
	"time"
)

// KeyKind says which of a repository's two signing keys a key is.
type KeyKind string

// The kinds of signing keys.
const (
	KeyMain    KeyKind = "main"    // signs branch and tag feeds
	KeyPreview KeyKind = "preview" // signs pull request feeds, so routers trusting main never accept them
)

// SigningKey is a repository's usign key pair, in the signify file formats.
type SigningKey struct {
	RepoID  int64     `json:"repo_id"`
	Kind    KeyKind   `json:"kind"`
	Public  []byte    `json:"public"`
	Secret  []byte    `json:"secret"` // plaintext here; implementations store it sealed
	Created time.Time `json:"created"`
}

// KeyStore is the optional capability of keeping signing keys in the store, which the shared
// (Redis) store offers: there the keys cannot live in files of one host. The embedded mode keeps
// keys as files under the data dir, and its store does not implement KeyStore; find out with a
// type assertion.
type KeyStore interface {
	// CreateSigningKey stores a key unless the repository already has one of that kind, in
	// which case it returns ErrDuplicate: two replicas racing to create the first key both end
	// up using the one that won (read it back with SigningKey).
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// SigningKey returns the repository's key of that kind, or ErrNotFound.
	SigningKey(ctx context.Context, repoID int64, kind KeyKind) (SigningKey, error)
}

// CheckSigningKey reports ErrInvalid when k cannot be stored.
func CheckSigningKey(k SigningKey) error {
	if k.Kind != KeyMain && k.Kind != KeyPreview {
		return fmt.Errorf("signing key kind %q is not main or preview: %w", k.Kind, ErrInvalid)
	}
	if len(k.Public) == 0 || len(k.Secret) == 0 {
		return fmt.Errorf("signing key needs both halves: %w", ErrInvalid)
	}
	return nil
}
