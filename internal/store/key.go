package store

import (
	"context"
	"fmt"
	"time"
)

// KeyKind says which of a repository's signing keys a key is: a usign pair for opkg feeds and
// an ECDSA P-256 pair for apk feeds, each once for main and once for preview.
type KeyKind string

// The kinds of signing keys.
const (
	KeyMain    KeyKind = "main"    // signs branch and tag feeds (opkg, usign)
	KeyPreview KeyKind = "preview" // signs pull request feeds, so routers trusting main never accept them
	// KeyAPKMain and KeyAPKPreview are the same two roles for apk feeds (25.12 on): ECDSA
	// P-256, in PEM.
	KeyAPKMain    KeyKind = "apk-main"
	KeyAPKPreview KeyKind = "apk-preview"
)

// KeyKinds lists every kind, in the order backups write them.
var KeyKinds = []KeyKind{KeyMain, KeyPreview, KeyAPKMain, KeyAPKPreview}

// Valid reports whether k is one of KeyKinds.
func (k KeyKind) Valid() bool {
	return k == KeyMain || k == KeyPreview || k == KeyAPKMain || k == KeyAPKPreview
}

// APK is the apk key of the same role: main → apk-main, preview → apk-preview.
func (k KeyKind) APK() KeyKind {
	switch k {
	case KeyMain:
		return KeyAPKMain
	case KeyPreview:
		return KeyAPKPreview
	}
	return k
}

// IsAPK reports whether k is an apk (ECDSA) key.
func (k KeyKind) IsAPK() bool { return k == KeyAPKMain || k == KeyAPKPreview }

// SigningKey is a repository's key pair of one kind: signify files for usign, PEM for apk.
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
	if !k.Kind.Valid() {
		return fmt.Errorf("signing key kind %q is not main, preview, apk-main or apk-preview: %w", k.Kind, ErrInvalid)
	}
	if len(k.Public) == 0 || len(k.Secret) == 0 {
		return fmt.Errorf("signing key needs both halves: %w", ErrInvalid)
	}
	return nil
}
