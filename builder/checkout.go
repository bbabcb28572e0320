package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// DefaultMaxCheckoutBytes caps a checked-out tree (with submodules) when Checkouter.MaxBytes is 0.
const DefaultMaxCheckoutBytes = 512 << 20

// Checkouter checks repositories out at exact commits, keeping one bare clone per repository
// URL under CacheDir so a later checkout fetches only what is missing. It is safe for
// concurrent use, also by several processes sharing CacheDir (a lock file per repository).
type Checkouter struct {
	CacheDir string
	MaxBytes int64 // cap on the checked-out tree; 0 means DefaultMaxCheckoutBytes
	// Auth returns the credentials for a URL (nil: anonymous https, ssh-agent for ssh).
	Auth   func(url string) (transport.AuthMethod, error)
	Logger *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// CheckoutRequest names what to check out. Commit wins over Ref; neither means the default branch.
type CheckoutRequest struct {
	URL    string // https://, ssh://, git@host:o/r.git, or a local path
	Ref    string // branch, tag, full ref (refs/pull/1/head) or commit hash
	Commit string // full commit hash
}

// CheckoutResult says what was checked out.
type CheckoutResult struct {
	Commit  string
	Fetched bool // false when the cache already had the commit
}

var hashRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Checkout writes the tree of req into dest (which must not exist or be empty).
func (c *Checkouter) Checkout(ctx context.Context, req CheckoutRequest, dest string) (CheckoutResult, error) {
	if c.CacheDir == "" {
		return CheckoutResult{}, errors.New("checkout: no cache folder configured")
	}
	if req.Commit != "" && !hashRe.MatchString(req.Commit) {
		return CheckoutResult{}, fmt.Errorf("checkout: commit %q is not a full 40-hex commit hash", req.Commit)
	}
	if strings.HasPrefix(req.Ref, "-") || strings.ContainsAny(req.Ref, " \t\n:^~?*[\\") || strings.Contains(req.Ref, "..") {
		return CheckoutResult{}, fmt.Errorf("checkout: %q is not a branch, tag or commit name", req.Ref)
	}
	local := isLocalSource(req.URL)
	url := req.URL
	if local {
		abs, err := filepath.Abs(req.URL)
		if err != nil {
			return CheckoutResult{}, fmt.Errorf("checkout: resolving %s: %w", req.URL, err)
		}
		url = abs
	}
	sum := sha256.Sum256([]byte(url))
	cacheDir := filepath.Join(c.CacheDir, "git", hex.EncodeToString(sum[:12])) // never the outside name itself
	unlock := c.lock(cacheDir)
	defer unlock()
	if err := os.MkdirAll(filepath.Dir(cacheDir), 0o755); err != nil {
		return CheckoutResult{}, fmt.Errorf("making the clone cache: %w", err)
	}
	// serve and worker processes may share the cache (a shared data folder in Redis mode).
	funlock, err := LockFile(ctx, cacheDir+".lock")
	if err != nil {
		return CheckoutResult{}, err
	}
	defer funlock()

	auth, err := c.auth(url)
	if err != nil {
		return CheckoutResult{}, err
	}
	repo, err := openOrInitBare(cacheDir, url)
	if err != nil {
		return CheckoutResult{}, err
	}
	var res CheckoutResult
	hash, err := resolve(repo, req)
	if err != nil || req.Commit == "" {
		// A branch or tag may have moved: only an exact commit already present skips the fetch.
		if err := fetch(ctx, repo, req.Ref, auth); err != nil {
			return res, fmt.Errorf("fetching %s: %w", req.URL, err)
		}
		res.Fetched = true
		// go-git cannot cap a fetch as it runs; a history far beyond the checkout cap is
		// dropped at once rather than kept in the cache.
		if over, err := overSize(cacheDir, historyFactor*c.maxBytes()); err != nil || over {
			_ = os.RemoveAll(cacheDir)
			if err == nil {
				err = fmt.Errorf("the history of %s is larger than %d MiB; keep large files out of the package repository", req.URL, historyFactor*c.maxBytes()>>20)
			}
			return res, err
		}
		if hash, err = resolve(repo, req); err != nil {
			return res, err
		}
	}
	res.Commit = hash.String()

	if err := os.MkdirAll(dest, 0o755); err != nil {
		return res, fmt.Errorf("checkout: making %s: %w", dest, err)
	}
	storer := filesystem.NewStorage(osfs.New(cacheDir), cache.NewObjectLRUDefault())
	wrepo, err := git.Open(storer, osfs.New(dest))
	if err != nil {
		return res, fmt.Errorf("checkout: opening the cache of %s: %w", req.URL, err)
	}
	w, err := wrepo.Worktree()
	if err != nil {
		return res, fmt.Errorf("checkout: %w", err)
	}
	if err := w.Checkout(&git.CheckoutOptions{Hash: hash, Force: true}); err != nil {
		return res, fmt.Errorf("checking out %s at %s: %w", req.URL, res.Commit, err)
	}
	if err := c.submodules(ctx, w, local, auth, 0); err != nil {
		return res, err
	}
	if err := c.checkSize(dest); err != nil {
		return res, err
	}
	c.logger().Info("checked out", "url", req.URL, "commit", res.Commit, "fetched", res.Fetched)
	return res, nil
}

func (c *Checkouter) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Checkouter) auth(url string) (transport.AuthMethod, error) {
	if c.Auth == nil {
		return nil, nil
	}
	a, err := c.Auth(url)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", url, err)
	}
	return a, nil
}

func (c *Checkouter) lock(key string) func() {
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[string]*sync.Mutex{}
	}
	l := c.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[key] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// historyFactor is how much larger than the checkout cap a repository's history may be.
const historyFactor = 4

func (c *Checkouter) maxBytes() int64 {
	if c.MaxBytes <= 0 {
		return DefaultMaxCheckoutBytes
	}
	return c.MaxBytes
}

func (c *Checkouter) checkSize(dest string) error {
	over, err := overSize(dest, c.maxBytes())
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	if over {
		return fmt.Errorf("checkout: the checkout is larger than %d MiB; keep large files out of the package repository", c.maxBytes()>>20)
	}
	return nil
}

// overSize reports whether the regular files under dir add up to more than limit bytes.
func overSize(dir string, limit int64) (bool, error) {
	var total int64
	errOver := errors.New("over")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			if total += info.Size(); total > limit {
				return errOver
			}
		}
		return nil
	})
	if errors.Is(err, errOver) {
		return true, nil
	}
	return false, err
}

// isLocalSource tells a local path from a git URL (https://, ssh://, git@host:path).
func isLocalSource(s string) bool {
	if strings.Contains(s, "://") {
		return strings.HasPrefix(s, "file://")
	}
	if i := strings.Index(s, ":"); i > 0 && !strings.ContainsAny(s[:i], "/\\") {
		return false // scp-like user@host:path
	}
	return true
}

func openOrInitBare(dir, url string) (*git.Repository, error) {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("making the clone cache: %w", err)
		}
		repo, err = git.PlainInit(dir, true)
		if err != nil {
			return nil, fmt.Errorf("making a clone cache for %s: %w", url, err)
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
			return nil, fmt.Errorf("making a clone cache for %s: %w", url, err)
		}
		return repo, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening the clone cache of %s (delete %s if it is damaged): %w", url, dir, err)
	}
	return repo, nil
}

func fetch(ctx context.Context, repo *git.Repository, ref string, auth transport.AuthMethod) error {
	specs := []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}
	if strings.HasPrefix(ref, "refs/") && !strings.HasPrefix(ref, "refs/heads/") && !strings.HasPrefix(ref, "refs/tags/") {
		specs = append(specs, config.RefSpec("+"+ref+":"+ref))
	}
	err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RefSpecs: specs, Auth: auth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return err
	}
	// Remember the remote's default branch for checkouts without a ref.
	rem, err := repo.Remote("origin")
	if err != nil {
		return err
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r.Name() == plumbing.HEAD && r.Type() == plumbing.SymbolicReference {
			return repo.Storer.SetReference(plumbing.NewSymbolicReference("refs/openwrt-ppa/default", r.Target()))
		}
	}
	return nil
}

func resolve(repo *git.Repository, req CheckoutRequest) (plumbing.Hash, error) {
	if req.Commit != "" {
		h := plumbing.NewHash(req.Commit)
		if _, err := repo.CommitObject(h); err != nil {
			return h, fmt.Errorf("commit %s not found in %s: %w", req.Commit, req.URL, err)
		}
		return h, nil
	}
	var candidates []plumbing.ReferenceName
	switch {
	case req.Ref == "":
		candidates = []plumbing.ReferenceName{"refs/openwrt-ppa/default", "refs/heads/main", "refs/heads/master"}
	case strings.HasPrefix(req.Ref, "refs/"):
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(req.Ref)}
	default:
		candidates = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(req.Ref), plumbing.NewTagReferenceName(req.Ref)}
	}
	for _, name := range candidates {
		r, err := repo.Reference(name, true)
		if err != nil {
			continue
		}
		h := r.Hash()
		if tag, err := repo.TagObject(h); err == nil { // annotated tag
			c, err := tag.Commit()
			if err != nil {
				return h, fmt.Errorf("tag %s does not point at a commit: %w", req.Ref, err)
			}
			h = c.Hash
		}
		return h, nil
	}
	if hashRe.MatchString(req.Ref) {
		return resolve(repo, CheckoutRequest{URL: req.URL, Commit: req.Ref})
	}
	if req.Ref == "" {
		return plumbing.ZeroHash, fmt.Errorf("%s has no default branch; give a branch, tag or commit", req.URL)
	}
	return plumbing.ZeroHash, fmt.Errorf("%s has no branch or tag %q", req.URL, req.Ref)
}

// maxSubmoduleDepth bounds nested submodules.
const maxSubmoduleDepth = 4

// submodules checks out the submodules of w, level by level, so every level's URLs are checked.
func (c *Checkouter) submodules(ctx context.Context, w *git.Worktree, local bool, auth transport.AuthMethod, depth int) error {
	subs, err := w.Submodules()
	if err != nil {
		return fmt.Errorf("reading .gitmodules: %w", err)
	}
	for _, s := range subs {
		cfg := s.Config()
		if strings.Contains(cfg.Name, "..") || strings.HasPrefix(cfg.Name, "/") {
			return fmt.Errorf("submodule name %q is not allowed", cfg.Name)
		}
		// A remote repository must not make us read the host's own repositories.
		if !local && isLocalSource(cfg.URL) && !strings.HasPrefix(cfg.URL, "../") && !strings.HasPrefix(cfg.URL, "./") {
			return fmt.Errorf("submodule %s: URL %q is a local path; a remote repository may only use https, ssh or relative submodule URLs", cfg.Name, cfg.URL)
		}
		if depth >= maxSubmoduleDepth {
			return fmt.Errorf("submodule %s: submodules nest deeper than %d levels", cfg.Name, maxSubmoduleDepth)
		}
		if err := s.UpdateContext(ctx, &git.SubmoduleUpdateOptions{Init: true, RecurseSubmodules: git.NoRecurseSubmodules, Auth: auth}); err != nil {
			return fmt.Errorf("updating submodule %s (%s): %w", cfg.Name, cfg.URL, err)
		}
		sub, err := s.Repository()
		if err != nil {
			return fmt.Errorf("opening submodule %s: %w", cfg.Name, err)
		}
		sw, err := sub.Worktree()
		if err != nil {
			return fmt.Errorf("opening submodule %s: %w", cfg.Name, err)
		}
		if err := c.submodules(ctx, sw, local, auth, depth+1); err != nil {
			return err
		}
	}
	return nil
}
