package builder

import (
	"cmp"
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
//
// Credentials go only to the scheme, host and port of the repository they were asked for: a
// submodule elsewhere is fetched anonymously, and one on the same host gets them only when
// SubmoduleAccess allows it. Nothing falls back to the host's ssh agent.
type Checkouter struct {
	CacheDir string
	MaxBytes int64 // cap on the checked-out tree; 0 means DefaultMaxCheckoutBytes
	// Auth returns the credentials for the URL of a checkout request; it is never asked for a
	// submodule's URL. nil, or a nil result, means anonymous: https without credentials, and an
	// ssh URL refused (use SSHAgentAuth to let the command line use the user's agent).
	Auth func(url string) (transport.AuthMethod, error)
	// SubmoduleAccess says whether the repository's credentials may fetch the submodule at url
	// (resolved, on the same scheme, host and port as the repository): the service asks the forge
	// whether the repository's owner may read it. nil allows none; a submodule refused is fetched
	// anonymously, which fails for a private one with an error wrapping ErrCheckoutRefused.
	SubmoduleAccess func(ctx context.Context, url string) (bool, error)
	Logger          *slog.Logger

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// CheckoutRequest names what to check out. With Ref, the ref is always fetched afresh and Commit
// (when given) must be its tip or an ancestor of it; Commit alone is taken from the cache when
// there, else fetched with every branch and tag; neither means the default branch's tip.
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

// ErrCheckoutRefused wraps refusals that are the repository's doing, not the service's: a commit
// not on the ref it is built for, a submodule it may not fetch, a history over the size caps.
// Retrying cannot help; the message can go on the check as is.
var ErrCheckoutRefused = errors.New("checkout refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCheckoutRefused, fmt.Sprintf(format, args...))
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
	if auth == nil && isSSH(url) {
		return CheckoutResult{}, refused("%s is an ssh URL and no credentials are given for it; use its https URL", req.URL)
	}
	repo, err := openOrInitBare(cacheDir, url)
	if err != nil {
		return CheckoutResult{}, err
	}
	var res CheckoutResult
	hash, err := c.fetchAndResolve(ctx, repo, req, auth, cacheDir, &res)
	if err != nil {
		return res, err
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
	subs := submoduleWalk{main: url, auth: auth, local: local}
	if err := c.submodules(ctx, subs, wrepo, url, cacheDir, 0); err != nil {
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
	if a == nil {
		return nil, nil
	}
	return bindAuth(url, a), nil
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

// fetchAndResolve brings what req names into the cache and returns its commit. A ref is always
// fetched, alone, from the remote: a commit is built for a branch or tag only when the ref as
// the remote has it now leads to that commit, whatever else the cache holds (a merge request's
// head, a branch deleted since).
func (c *Checkouter) fetchAndResolve(ctx context.Context, repo *git.Repository, req CheckoutRequest, auth transport.AuthMethod, cacheDir string, res *CheckoutResult) (plumbing.Hash, error) {
	if req.Ref == "" || hashRe.MatchString(req.Ref) && req.Commit == "" {
		commit := cmp.Or(req.Commit, req.Ref)
		if commit != "" {
			if h := plumbing.NewHash(commit); hasCommit(repo, h) {
				return h, nil
			}
		}
	}
	name, err := remoteRef(ctx, repo, req, auth)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	specs := []config.RefSpec{config.RefSpec("+" + name + ":" + name)}
	if name == "" { // a bare commit: every branch and tag, as it may be on any of them
		specs = []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}
	}
	err = repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RefSpecs: specs, Auth: auth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, fmt.Errorf("fetching %s: %w", req.URL, err)
	}
	res.Fetched = true
	// go-git cannot cap a fetch as it runs; a history far beyond the checkout cap is
	// dropped at once rather than kept in the cache.
	if over, err := overSize(cacheDir, historyFactor*c.maxBytes()); err != nil || over {
		_ = os.RemoveAll(cacheDir)
		if err == nil {
			err = refused("the history of %s is larger than %d MiB; keep large files out of the package repository", req.URL, historyFactor*c.maxBytes()>>20)
		}
		return plumbing.ZeroHash, err
	}
	if name == "" {
		h := plumbing.NewHash(cmp.Or(req.Commit, req.Ref))
		if !hasCommit(repo, h) {
			return h, refused("commit %s is on no branch or tag of %s", h, req.URL)
		}
		return h, nil
	}
	tip, err := peeled(repo, name)
	if err != nil {
		return tip, fmt.Errorf("%s of %s: %w", name, req.URL, err)
	}
	if req.Commit == "" {
		return tip, nil
	}
	want := plumbing.NewHash(req.Commit)
	if err := onRef(repo, want, tip); err != nil {
		return want, refused("commit %s is not on %s of %s (its tip is %s): %v; build a commit of that ref", want, name, req.URL, tip, err)
	}
	return want, nil
}

// remoteRef finds the ref that req names among the remote's refs: "" for a bare commit.
func remoteRef(ctx context.Context, repo *git.Repository, req CheckoutRequest, auth transport.AuthMethod) (plumbing.ReferenceName, error) {
	if req.Ref == "" && req.Commit != "" {
		// a commit alone may be on any branch or tag (a config read for another branch's push):
		// the default branch is not where to look for it.
		return "", nil
	}
	rem, err := repo.Remote("origin")
	if err != nil {
		return "", err
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return "", fmt.Errorf("listing the refs of %s: %w", req.URL, err)
	}
	has := map[plumbing.ReferenceName]bool{}
	var head plumbing.ReferenceName
	for _, r := range refs {
		has[r.Name()] = true
		if r.Name() == plumbing.HEAD && r.Type() == plumbing.SymbolicReference {
			head = r.Target()
		}
	}
	var candidates []plumbing.ReferenceName
	switch {
	case req.Ref == "":
		candidates = []plumbing.ReferenceName{head, plumbing.Main, plumbing.Master}
	case strings.HasPrefix(req.Ref, "refs/"):
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(req.Ref)}
	default:
		candidates = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(req.Ref), plumbing.NewTagReferenceName(req.Ref)}
	}
	for _, n := range candidates {
		if n != "" && has[n] {
			return n, nil
		}
	}
	switch {
	case hashRe.MatchString(req.Ref):
		return "", nil
	case req.Ref == "":
		return "", refused("%s has no default branch; give a branch, tag or commit", req.URL)
	}
	return "", refused("%s has no branch or tag %q", req.URL, req.Ref)
}

func hasCommit(repo *git.Repository, h plumbing.Hash) bool {
	_, err := repo.CommitObject(h)
	return err == nil
}

// peeled returns the commit a fetched ref points at, through an annotated tag.
func peeled(repo *git.Repository, name plumbing.ReferenceName) (plumbing.Hash, error) {
	r, err := repo.Reference(name, true)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h := r.Hash()
	if tag, err := repo.TagObject(h); err == nil {
		c, err := tag.Commit()
		if err != nil {
			return h, fmt.Errorf("the tag does not point at a commit: %w", err)
		}
		return c.Hash, nil
	}
	return h, nil
}

// onRef checks that want is tip or one of its ancestors.
func onRef(repo *git.Repository, want, tip plumbing.Hash) error {
	if want == tip {
		return nil
	}
	tc, err := repo.CommitObject(tip)
	if err != nil {
		return err
	}
	wc, err := repo.CommitObject(want)
	if err != nil {
		return errors.New("the ref's history does not have it")
	}
	ok, err := wc.IsAncestor(tc)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("it is not an ancestor of the tip")
	}
	return nil
}

// maxSubmoduleDepth bounds nested submodules.
const maxSubmoduleDepth = 4

// submoduleWalk is what every level of a checkout's submodules shares: the repository the
// credentials were issued for.
type submoduleWalk struct {
	main  string // the checkout's URL
	auth  transport.AuthMethod
	local bool
}

// submodules checks out the submodules of r, level by level, so every level's URLs are checked.
// parent is the URL r was fetched from (relative submodule URLs resolve against it) and gitDir
// the folder of its git data (submodules keep theirs below it).
func (c *Checkouter) submodules(ctx context.Context, walk submoduleWalk, r *git.Repository, parent, gitDir string, depth int) error {
	// go-git takes a submodule's URL from the repository's config once it was set up there, as
	// git does until "submodule sync": the cache must follow the commit's .gitmodules instead.
	cfg, err := r.Config()
	if err != nil {
		return fmt.Errorf("reading the clone's config: %w", err)
	}
	if len(cfg.Submodules) > 0 {
		cfg.Submodules = map[string]*config.Submodule{}
		if err := r.SetConfig(cfg); err != nil {
			return fmt.Errorf("writing the clone's config: %w", err)
		}
	}
	w, err := r.Worktree()
	if err != nil {
		return fmt.Errorf("opening the checkout: %w", err)
	}
	subs, err := w.Submodules()
	if err != nil {
		return fmt.Errorf("reading .gitmodules: %w", err)
	}
	for _, s := range subs {
		cfg := s.Config()
		if strings.Contains(cfg.Name, "..") || strings.HasPrefix(cfg.Name, "/") || cfg.Name == "" || cfg.Name == "." {
			return refused("submodule name %q is not allowed", cfg.Name)
		}
		// A remote repository must not make us read the host's own repositories.
		relative := strings.HasPrefix(cfg.URL, "../") || strings.HasPrefix(cfg.URL, "./")
		if !walk.local && isLocalSource(cfg.URL) && !relative {
			return refused("submodule %s: URL %q is a local path; a remote repository may only use https, ssh or relative submodule URLs", cfg.Name, cfg.URL)
		}
		if depth >= maxSubmoduleDepth {
			return refused("submodule %s: submodules nest deeper than %d levels", cfg.Name, maxSubmoduleDepth)
		}
		url, err := resolveSubmoduleURL(parent, cfg.URL)
		if err != nil {
			return refused("submodule %s: URL %q: %v", cfg.Name, cfg.URL, err)
		}
		url = inheritWrapper(walk.main, url)
		auth, why, err := c.submoduleAuth(ctx, walk, url)
		if err != nil {
			return fmt.Errorf("submodule %s (%s): asking whether it may be fetched with the repository's credentials: %w", cfg.Name, url, err)
		}
		if auth == nil && isSSH(url) {
			return refused("submodule %s: %s is an ssh URL and gets no credentials (%s); use an https URL", cfg.Name, url, why)
		}
		moduleDir := filepath.Join(gitDir, "modules", filepath.FromSlash(cfg.Name))
		sub, err := prepareModule(s, moduleDir, url, auth != nil)
		if err != nil {
			return fmt.Errorf("submodule %s: %w", cfg.Name, err)
		}
		if err := s.UpdateContext(ctx, &git.SubmoduleUpdateOptions{Init: true, RecurseSubmodules: git.NoRecurseSubmodules, Auth: auth}); err != nil {
			if auth == nil && why != "" {
				return refused("submodule %s (%s) could not be fetched without credentials (%s): %v", cfg.Name, url, why, err)
			}
			return fmt.Errorf("updating submodule %s (%s): %w", cfg.Name, url, err)
		}
		if err := c.submodules(ctx, walk, sub, url, moduleDir, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// inheritWrapper fetches a submodule through the same transport wrapper as its repository: a
// repository fetched as "W+https://…" (a transport that checks every address it dials, for
// URLs users gave) has its submodule at "https://…" fetched as "W+https://…" too, so that a
// .gitmodules cannot lead the checkout around the check. A scheme W does not wrap fails.
func inheritWrapper(main, sub string) string {
	scheme, _, ok := strings.Cut(main, "://")
	w, _, wrapped := strings.Cut(scheme, "+")
	if !ok || !wrapped {
		return sub
	}
	subScheme, rest, ok := strings.Cut(sub, "://")
	if !ok || strings.Contains(subScheme, "+") {
		return sub
	}
	return w + "+" + subScheme + "://" + rest
}

// submoduleAuth decides the credentials of the submodule at url: the repository's own, only on
// its scheme, host and port and when SubmoduleAccess allows; else none, and why (for messages).
func (c *Checkouter) submoduleAuth(ctx context.Context, walk submoduleWalk, url string) (transport.AuthMethod, string, error) {
	switch {
	case walk.auth == nil:
		return nil, "", nil
	case !sameOrigin(walk.main, url):
		return nil, "the repository's credentials are only sent to its own host", nil
	case c.SubmoduleAccess == nil:
		return nil, "the repository's credentials are not used for its submodules", nil
	}
	ok, err := c.SubmoduleAccess(ctx, url)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "the repository's owner may not read it", nil
	}
	return walk.auth, "", nil
}

// moduleSource is a file in a submodule's git folder naming where its objects came from, so
// objects fetched with credentials are never reused for a checkout that has none, nor objects
// of one URL for another.
const moduleSource = "openwrt-ppa-source"

// prepareModule points the submodule's repository at url, starting it afresh when its objects
// came from elsewhere or with other credentials.
func prepareModule(s *git.Submodule, dir, url string, authed bool) (*git.Repository, error) {
	source := fmt.Sprintf("%s\nauthed=%v\n", url, authed)
	if b, err := os.ReadFile(filepath.Join(dir, moduleSource)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else if err == nil && string(b) != source || err != nil && dirExists(dir) {
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("resetting its clone: %w", err)
		}
	}
	if err := s.Init(); err != nil {
		return nil, err
	}
	r, err := s.Repository()
	if err != nil {
		return nil, err
	}
	// go-git keeps the URL the module was first made with: set the one checked here.
	if err := r.DeleteRemote(git.DefaultRemoteName); err != nil && !errors.Is(err, git.ErrRemoteNotFound) {
		return nil, err
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{url}}); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, moduleSource), []byte(source), 0o644); err != nil {
		return nil, err
	}
	// The index describes the folder of the last checkout, not this new one: go-git would take
	// the missing files for changes and refuse to check out.
	if err := os.Remove(filepath.Join(dir, "index")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return r, nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
