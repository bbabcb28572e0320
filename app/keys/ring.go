package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/atomicfile"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Ring holds every repository's signing keys: for opkg feeds a usign pair, for apk feeds an
// ECDSA P-256 pair, each once as main (branch and tag feeds) and once as preview (pull request
// feeds). A key is made on first use. Keys never enter a build container: the service signs
// indexes itself, after the build.
//
// In the embedded mode keys are files under DIR/keys/<repo id>/<kind>.sec and .pub (folder
// 0700, secrets 0600); in Redis mode the store keeps them, sealed with the key encryption key
// (store.KeyStore).
type Ring struct {
	dir    string
	shared store.KeyStore // nil: files
	mu     sync.Mutex
}

// NewRing keeps keys as files under dir, or in shared when it is not nil.
func NewRing(dir string, shared store.KeyStore) *Ring {
	return &Ring{dir: dir, shared: shared}
}

// pair is one key in its file forms.
type pair struct{ sec, pub []byte }

// newPair makes a key of kind for a repository, in its file forms.
func newPair(repoID int64, kind store.KeyKind) (pair, error) {
	if kind.IsAPK() {
		sk, err := apksign.Generate(nil)
		if err != nil {
			return pair{}, err
		}
		return apkPair(sk)
	}
	sk, err := usign.Generate(nil, keyComment(repoID, kind))
	if err != nil {
		return pair{}, err
	}
	return usignPair(sk)
}

func usignPair(sk *usign.SecretKey) (pair, error) {
	sec, err := sk.MarshalText()
	if err != nil {
		return pair{}, err
	}
	pub, err := sk.Public().MarshalText()
	return pair{sec, pub}, err
}

func apkPair(sk *apksign.SecretKey) (pair, error) {
	sec, err := sk.MarshalPEM()
	if err != nil {
		return pair{}, err
	}
	pub, err := sk.Public().MarshalPEM()
	return pair{sec, pub}, err
}

// checkPair parses a secret key of kind and returns the pair as the ring writes it (the public
// half made from the secret, so a backup's public text cannot disagree with it).
func checkPair(kind store.KeyKind, sec []byte) (pair, error) {
	if kind.IsAPK() {
		sk, err := apksign.ParseSecretKey(sec)
		if err != nil {
			return pair{}, err
		}
		return apkPair(sk)
	}
	sk, err := usign.ParseSecretKey(sec)
	if err != nil {
		return pair{}, err
	}
	return usignPair(sk)
}

func checkKind(kind store.KeyKind) error {
	if !kind.Valid() {
		return fmt.Errorf("key kind %q is not main, preview, apk-main or apk-preview", kind)
	}
	return nil
}

// Secret returns the repository's usign key of that kind (main or preview), creating it the
// first time.
func (k *Ring) Secret(ctx context.Context, repoID int64, kind store.KeyKind) (*usign.SecretKey, error) {
	if kind != store.KeyMain && kind != store.KeyPreview {
		return nil, fmt.Errorf("key kind %q is not main or preview", kind)
	}
	p, err := k.get(ctx, repoID, kind)
	if err != nil {
		return nil, err
	}
	return usign.ParseSecretKey(p.sec)
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

// APKSecret returns the repository's apk key of that role (main or preview, or their apk kinds),
// creating it the first time.
func (k *Ring) APKSecret(ctx context.Context, repoID int64, kind store.KeyKind) (*apksign.SecretKey, error) {
	kind = kind.APK()
	if !kind.IsAPK() {
		return nil, fmt.Errorf("key kind %q is not main or preview", kind)
	}
	p, err := k.get(ctx, repoID, kind)
	if err != nil {
		return nil, err
	}
	return apksign.ParseSecretKey(p.sec)
}

// APKPublic returns the public half of the apk key of that role, and its PEM, the file a router
// installs in /etc/apk/keys/.
func (k *Ring) APKPublic(ctx context.Context, repoID int64, kind store.KeyKind) (*apksign.PublicKey, []byte, error) {
	sk, err := k.APKSecret(ctx, repoID, kind)
	if err != nil {
		return nil, nil, err
	}
	pub := sk.Public()
	text, err := pub.MarshalPEM()
	return pub, text, err
}

func keyComment(repoID int64, kind store.KeyKind) string {
	return "openwrt-ppa repository " + strconv.FormatInt(repoID, 10) + " " + string(kind) + " key"
}

// get returns the key of kind, making it the first time.
func (k *Ring) get(ctx context.Context, repoID int64, kind store.KeyKind) (pair, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shared != nil {
		return k.sharedGet(ctx, repoID, kind)
	}
	return k.fileGet(repoID, kind)
}

func (k *Ring) keyPath(repoID int64, kind store.KeyKind) string {
	return filepath.Join(k.dir, strconv.FormatInt(repoID, 10), string(kind)+".sec")
}

func (k *Ring) fileGet(repoID int64, kind store.KeyKind) (pair, error) {
	path := k.keyPath(repoID, kind)
	data, err := os.ReadFile(path)
	if err == nil {
		p, err := checkPair(kind, data)
		if err != nil {
			return pair{}, fmt.Errorf("signing key %s is damaged: %w; restore it from a backup (openwrt-ppa keys import)", path, err)
		}
		return p, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return pair{}, fmt.Errorf("reading signing key: %w", err)
	}
	p, err := newPair(repoID, kind)
	if err != nil {
		return pair{}, err
	}
	return p, k.writeFiles(repoID, kind, p)
}

func (k *Ring) writeFiles(repoID int64, kind store.KeyKind, p pair) error {
	dir := filepath.Dir(k.keyPath(repoID, kind))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating key folder: %w", err)
	}
	if err := os.Chmod(k.dir, 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, string(kind)+".sec"), p.sec, 0o600); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, string(kind)+".pub"), p.pub, 0o644)
}

func (k *Ring) sharedGet(ctx context.Context, repoID int64, kind store.KeyKind) (pair, error) {
	rec, err := k.shared.SigningKey(ctx, repoID, kind)
	if errors.Is(err, store.ErrNotFound) {
		p, gerr := newPair(repoID, kind)
		if gerr != nil {
			return pair{}, gerr
		}
		err = k.shared.CreateSigningKey(ctx, store.SigningKey{RepoID: repoID, Kind: kind, Public: p.pub, Secret: p.sec})
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, store.ErrDuplicate) {
			return pair{}, fmt.Errorf("storing new signing key: %w", err)
		}
		// Another replica made it first: use theirs.
		rec, err = k.shared.SigningKey(ctx, repoID, kind)
	}
	if err != nil {
		return pair{}, fmt.Errorf("reading signing key: %w", err)
	}
	return checkPair(kind, rec.Secret)
}

// Existing returns a usign key without making one: store.ErrNotFound when there is none.
func (k *Ring) Existing(ctx context.Context, repoID int64, kind store.KeyKind) (*usign.SecretKey, error) {
	if kind.IsAPK() {
		return nil, fmt.Errorf("key kind %q is an apk key, not a usign one", kind)
	}
	p, err := k.existing(ctx, repoID, kind)
	if err != nil {
		return nil, err
	}
	return usign.ParseSecretKey(p.sec)
}

// existing returns a key of any kind without making one: store.ErrNotFound when there is none.
func (k *Ring) existing(ctx context.Context, repoID int64, kind store.KeyKind) (pair, error) {
	if err := checkKind(kind); err != nil {
		return pair{}, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var data []byte
	if k.shared != nil {
		rec, err := k.shared.SigningKey(ctx, repoID, kind)
		if err != nil {
			return pair{}, err
		}
		data = rec.Secret
	} else {
		var err error
		data, err = os.ReadFile(k.keyPath(repoID, kind))
		if errors.Is(err, os.ErrNotExist) {
			return pair{}, store.ErrNotFound
		}
		if err != nil {
			return pair{}, err
		}
	}
	return checkPair(kind, data)
}

// install puts a restored key in place; an existing different key stays unless replace.
func (k *Ring) install(ctx context.Context, repoID int64, kind store.KeyKind, p pair, replace bool) error {
	cur, err := k.existing(ctx, repoID, kind)
	switch {
	case err == nil && samePair(kind, cur, p):
		return nil
	case err == nil && !replace:
		return errKeyDiffers
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shared != nil {
		if err == nil {
			return errors.New("replacing a key kept in Redis is not supported: remove it there first")
		}
		return k.shared.CreateSigningKey(ctx, store.SigningKey{RepoID: repoID, Kind: kind, Public: p.pub, Secret: p.sec})
	}
	return k.writeFiles(repoID, kind, p)
}

// samePair reports whether two pairs hold the same key (a usign key's comment may differ).
func samePair(kind store.KeyKind, a, b pair) bool {
	if kind.IsAPK() {
		return string(a.sec) == string(b.sec) // the PEM is made from the key alone
	}
	ka, erra := usign.ParseSecretKey(a.sec)
	kb, errb := usign.ParseSecretKey(b.sec)
	return erra == nil && errb == nil && ka.Fingerprint == kb.Fingerprint && string(ka.Key) == string(kb.Key)
}

// KeyID names an existing key without making one: a usign key's 16-hex fingerprint, an apk
// key's 32-hex key id; store.ErrNotFound when the repository has none of that kind.
func (k *Ring) KeyID(ctx context.Context, repoID int64, kind store.KeyKind) (string, error) {
	p, err := k.existing(ctx, repoID, kind)
	if err != nil {
		return "", err
	}
	if kind.IsAPK() {
		sk, err := apksign.ParseSecretKey(p.sec)
		if err != nil {
			return "", err
		}
		return sk.ID.String(), nil
	}
	sk, err := usign.ParseSecretKey(p.sec)
	if err != nil {
		return "", err
	}
	return sk.Fingerprint.String(), nil
}
