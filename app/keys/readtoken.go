package keys

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Tokens makes the per-repository read tokens of private repositories: HMAC of the
// repository's forge identity under a key kept in the data dir (shared by every process in Redis
// mode), so a token needs no storage and survives renames. opkg sends it by HTTP basic auth when
// the feed URL carries it (https://token:TOKEN@host/...).
type Tokens struct {
	key []byte
}

// LoadTokens reads the token key from DIR/keys/read-token.key, making it on first use.
func LoadTokens(keysDir string) (*Tokens, error) {
	path := filepath.Join(keysDir, "read-token.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(keysDir, 0o700); err != nil {
			return nil, err
		}
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if errors.Is(err, os.ErrExist) {
			// Another process made it first: use theirs.
			return LoadTokens(keysDir)
		}
		if err != nil {
			return nil, fmt.Errorf("making the read token key: %w", err)
		}
		_, werr := f.Write(b)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, werr
		}
		return &Tokens{key: b}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the read token key: %w", err)
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("the read token key %s is too short; remove it to make a new one (every private repository's token changes)", path)
	}
	return &Tokens{key: b}, nil
}

// Token is the read token of a repository ("" when tokens are off: t is nil).
func (t *Tokens) Token(repo store.Repository) string {
	if t == nil {
		return ""
	}
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("openwrt-ppa read token v1\n" + repo.Forge + "\n" + repo.ForgeID))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

// allowed reports whether r carries the repository's read token (as the basic auth password)
// or the admin token (as a bearer token).
func (t *Tokens) allowed(r *http.Request, repo store.Repository, admin string) bool {
	if admin != "" {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok &&
			subtle.ConstantTimeCompare([]byte(bearer), []byte(admin)) == 1 {
			return true
		}
	}
	_, pass, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(pass), []byte(t.Token(repo))) == 1
}

// privacyCache remembers for a short while which repository paths are private, so serving a feed
// file does not ask the store every time.
type privacyCache struct {
	mu      sync.Mutex
	entries map[string]privacyEntry
}

type privacyEntry struct {
	repo    store.Repository
	found   bool
	expires time.Time
}

const privacyTTL = 10 * time.Second

func (c *privacyCache) lookup(ctx context.Context, st store.RepositoryStore, owner, name string, now time.Time) (store.Repository, bool, error) {
	key := store.PathKey(owner, name)
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.repo, e.found, nil
	}
	repo, err := st.RepositoryByPath(ctx, owner, name)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return repo, false, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) > 10000 {
		c.entries = map[string]privacyEntry{}
	}
	c.entries[key] = privacyEntry{repo: repo, found: found, expires: now.Add(privacyTTL)}
	c.mu.Unlock()
	return repo, found, nil
}

// ReadGuard keeps a private repository's feed and key files from anyone without its read token
// or the admin token. A nil Tokens lets every request through.
type ReadGuard struct {
	Tokens *Tokens
	Repos  store.RepositoryStore
	Admin  string // the admin token; "" for none
	Now    func() time.Time
	cache  privacyCache
}

// Allow serves a private repository's files only with its read token: it answers 401 (with the
// challenge opkg needs to send the token) or 503 itself and returns false.
func (g *ReadGuard) Allow(w http.ResponseWriter, r *http.Request, owner, name string) bool {
	if g.Tokens == nil {
		return true
	}
	repo, found, err := g.cache.lookup(r.Context(), g.Repos, strings.ReplaceAll(owner, "~", "/"), name, g.Now())
	if err != nil {
		http.Error(w, "cannot check access right now; try again later", http.StatusServiceUnavailable)
		return false
	}
	if !found || !repo.Private || g.Tokens.allowed(r, repo, g.Admin) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="openwrt-ppa `+repo.Path()+`", charset="UTF-8"`)
	http.Error(w, "this repository is private: put its read token in the feed URL (https://token:TOKEN@host/...); people with access find the line on the repository's page", http.StatusUnauthorized)
	return false
}
