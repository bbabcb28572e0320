package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Ring holds every repository's two usign keys: main (branch and tag feeds) and preview
// (pull request feeds). A key is made on first use. Keys never enter a build container: the
// service signs indexes itself, after the build.
//
// In the embedded mode keys are files under DIR/keys (folder 0700, files 0600); in Redis mode
// the store keeps them, sealed with the key encryption key (store.KeyStore).
type Ring struct {
	dir    string
	shared store.KeyStore // nil: files
	mu     sync.Mutex
}

// NewRing keeps keys as files under dir, or in shared when it is not nil.
func NewRing(dir string, shared store.KeyStore) *Ring {
	return &Ring{dir: dir, shared: shared}
}

// Secret returns the repository's key of that kind, creating it the first time.
func (k *Ring) Secret(ctx context.Context, repoID int64, kind store.KeyKind) (*usign.SecretKey, error) {
	if kind != store.KeyMain && kind != store.KeyPreview {
		return nil, fmt.Errorf("key kind %q is not main or preview", kind)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shared != nil {
		return k.sharedSecret(ctx, repoID, kind)
	}
	return k.fileSecret(repoID, kind)
}

// Public returns the public half in its signify file form.
func (k *Ring) Public(ctx context.Context, repoID int64, kind store.KeyKind) (*usign.PublicKey, []byte, error) {
	sk, err := k.Secret(ctx, repoID, kind)
	if err != nil {
		return nil, nil, err
	}
	pub := sk.Public()
	text, err := pub.MarshalText()
	return pub, text, err
}

func keyComment(repoID int64, kind store.KeyKind) string {
	return "openwrt-ppa repository " + strconv.FormatInt(repoID, 10) + " " + string(kind) + " key"
}

func (k *Ring) fileSecret(repoID int64, kind store.KeyKind) (*usign.SecretKey, error) {
	dir := filepath.Join(k.dir, strconv.FormatInt(repoID, 10))
	path := filepath.Join(dir, string(kind)+".sec")
	data, err := os.ReadFile(path)
	if err == nil {
		sk, err := usign.ParseSecretKey(data)
		if err != nil {
			return nil, fmt.Errorf("signing key %s is damaged: %w; restore it from a backup (openwrt-ppa keys import)", path, err)
		}
		return sk, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	sk, err := usign.Generate(nil, keyComment(repoID, kind))
	if err != nil {
		return nil, err
	}
	sec, err := sk.MarshalText()
	if err != nil {
		return nil, err
	}
	pub, err := sk.Public().MarshalText()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating key folder: %w", err)
	}
	if err := os.Chmod(k.dir, 0o700); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, sec, 0o600); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, string(kind)+".pub"), pub, 0o644); err != nil {
		return nil, err
	}
	return sk, nil
}

func (k *Ring) sharedSecret(ctx context.Context, repoID int64, kind store.KeyKind) (*usign.SecretKey, error) {
	rec, err := k.shared.SigningKey(ctx, repoID, kind)
	if errors.Is(err, store.ErrNotFound) {
		sk, gerr := usign.Generate(nil, keyComment(repoID, kind))
		if gerr != nil {
			return nil, gerr
		}
		sec, _ := sk.MarshalText()
		pub, _ := sk.Public().MarshalText()
		err = k.shared.CreateSigningKey(ctx, store.SigningKey{RepoID: repoID, Kind: kind, Public: pub, Secret: sec})
		if err == nil {
			return sk, nil
		}
		if !errors.Is(err, store.ErrDuplicate) {
			return nil, fmt.Errorf("storing new signing key: %w", err)
		}
		// Another replica made it first: use theirs.
		rec, err = k.shared.SigningKey(ctx, repoID, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("reading signing key: %w", err)
	}
	return usign.ParseSecretKey(rec.Secret)
}

// Existing returns a key without making one: store.ErrNotFound when there is none.
func (k *Ring) Existing(ctx context.Context, repoID int64, kind store.KeyKind) (*usign.SecretKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shared != nil {
		rec, err := k.shared.SigningKey(ctx, repoID, kind)
		if err != nil {
			return nil, err
		}
		return usign.ParseSecretKey(rec.Secret)
	}
	data, err := os.ReadFile(filepath.Join(k.dir, strconv.FormatInt(repoID, 10), string(kind)+".sec"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return usign.ParseSecretKey(data)
}

// install puts a restored key in place; an existing different key stays unless replace.
func (k *Ring) install(ctx context.Context, repoID int64, kind store.KeyKind, sk *usign.SecretKey, replace bool) error {
	cur, err := k.Existing(ctx, repoID, kind)
	switch {
	case err == nil && sameKey(cur, sk):
		return nil
	case err == nil && !replace:
		return errKeyDiffers
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	sec, _ := sk.MarshalText()
	pub, _ := sk.Public().MarshalText()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shared != nil {
		if err == nil {
			return errors.New("replacing a key kept in Redis is not supported: remove it there first")
		}
		return k.shared.CreateSigningKey(ctx, store.SigningKey{RepoID: repoID, Kind: kind, Public: pub, Secret: sec})
	}
	dir := filepath.Join(k.dir, strconv.FormatInt(repoID, 10))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, string(kind)+".sec"), sec, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, string(kind)+".pub"), pub, 0o644)
}
