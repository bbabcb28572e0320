package feedmirror

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// Options configure a Mirror.
type Options struct {
	// Rewrite maps URL prefixes to others before fetching ("https://github.com/openwrt/" →
	// an operator's own git mirror, or a test's loopback server); the longest prefix wins.
	Rewrite map[string]string
	Logger  *slog.Logger
}

// Mirror keeps the pinned standard feeds under Dir:
//
//	repos/<name>-<hash of URL>.git            bare repository, fetched with every branch and tag
//	trees/<name>-<hash of URL>/<commit>/      the commit's files, laid once, never changed
//	series/<series>.json                      the last set of pins that synced in full
//
// Nothing in Dir is written from inside a build: builds get the trees read-only. It is safe for
// concurrent use, also by processes sharing Dir (a lock file per repository).
type Mirror struct {
	dir  string
	opts Options

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// New returns a mirror keeping its files under dir (made if missing).
func New(dir string, opts Options) *Mirror {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mirror{dir: dir, opts: opts, locks: map[string]*sync.Mutex{}}
}

// Dir is the mirror's folder.
func (m *Mirror) Dir() string { return m.dir }

// Tree is one pinned feed as the mirror serves it.
type Tree struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Commit string `json:"commit"`
	From   string `json:"fetched_from,omitempty"` // where the commit was fetched from, when this sync fetched it
	Dir    string `json:"-"`                      // absolute folder of the commit's files
	Rel    string `json:"tree"`                   // Dir relative to the mirror's folder
}

// Result is what Sync did.
type Result struct {
	Trees   []Tree   // in the order of the pins
	Fetched []string // feeds fetched from upstream by this call (none when the mirror had them all)
}

// State is the last set of pins of a series that synced in full.
type State struct {
	Series   string    `json:"series"`
	Feeds    []Tree    `json:"feeds"`
	SyncedAt time.Time `json:"synced_at"`
}

// ErrMissingCommit reports that a feed's upstream does not hold the commit the SDK pins.
var ErrMissingCommit = errors.New("the feed's repository does not contain the pinned commit")

var (
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	seriesRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// Sync makes sure every pin has its tree, fetching a feed only when its bare repository lacks
// the pinned commit, and records the set as the series' state. A fetch that fails, or that does
// not bring the pinned commit, is an error that changes nothing already there: the previous
// state and every tree laid before stay as they were.
func (m *Mirror) Sync(ctx context.Context, series string, pins []Pin) (Result, error) {
	if !seriesRe.MatchString(series) {
		return Result{}, fmt.Errorf("feed mirror: series %q is not a plain name", series)
	}
	seen := map[string]bool{}
	for _, p := range pins {
		if err := m.check(p); err != nil {
			return Result{}, err
		}
		if seen[p.Name] {
			return Result{}, fmt.Errorf("feed mirror: feed %q is pinned twice", p.Name)
		}
		seen[p.Name] = true
	}
	var res Result
	for _, p := range pins {
		t, fetched, err := m.tree(ctx, p)
		if err != nil {
			return Result{}, err
		}
		if fetched {
			res.Fetched = append(res.Fetched, p.Name)
		}
		res.Trees = append(res.Trees, t)
	}
	if err := m.writeState(series, res.Trees); err != nil {
		return Result{}, err
	}
	return res, nil
}

// Status returns the last set of pins of series that synced in full; false when none did.
func (m *Mirror) Status(series string) (State, bool, error) {
	if !seriesRe.MatchString(series) {
		return State{}, false, fmt.Errorf("feed mirror: series %q is not a plain name", series)
	}
	b, err := os.ReadFile(m.statePath(series))
	if errors.Is(err, os.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("feed mirror: reading the state of %s: %w", series, err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, false, fmt.Errorf("feed mirror: the state of %s is damaged (delete %s): %w", series, m.statePath(series), err)
	}
	for i := range s.Feeds {
		s.Feeds[i].Dir = filepath.Join(m.dir, filepath.FromSlash(s.Feeds[i].Rel))
	}
	return s, true, nil
}

func (m *Mirror) check(p Pin) error {
	switch {
	case !nameRe.MatchString(p.Name):
		return fmt.Errorf("feed mirror: feed name %q: use letters, digits and _", p.Name)
	case !commitRe.MatchString(p.Commit):
		return fmt.Errorf("feed mirror: feed %s: %q is not a full 40-hex commit hash", p.Name, p.Commit)
	case !httpURL(p.URL):
		return fmt.Errorf("feed mirror: feed %s: %q is not an http(s) URL", p.Name, p.URL)
	case !httpURL(m.fetchURL(p)):
		return fmt.Errorf("feed mirror: feed %s is fetched from %q, not an http(s) URL: fix the rewrite", p.Name, m.fetchURL(p))
	}
	return nil
}

// fetchURL is where p is fetched from: Via (or URL) after the longest matching rewrite.
func (m *Mirror) fetchURL(p Pin) string {
	u := p.URL
	if p.Via != "" {
		u = p.Via
	}
	best := ""
	for from := range m.opts.Rewrite {
		if strings.HasPrefix(u, from) && len(from) > len(best) {
			best = from
		}
	}
	if best != "" {
		u = m.opts.Rewrite[best] + strings.TrimPrefix(u, best)
	}
	return u
}

// key names a repository's files: never the outside name alone.
func key(p Pin) string {
	sum := sha256.Sum256([]byte(p.URL))
	return p.Name + "-" + hex.EncodeToString(sum[:6])
}

func (m *Mirror) statePath(series string) string {
	return filepath.Join(m.dir, "series", series+".json")
}

// tree returns p's tree, laying it (and fetching the commit) when missing.
func (m *Mirror) tree(ctx context.Context, p Pin) (Tree, bool, error) {
	k := key(p)
	rel := "trees/" + k + "/" + p.Commit
	t := Tree{Name: p.Name, URL: p.URL, Commit: p.Commit, Rel: rel, Dir: filepath.Join(m.dir, filepath.FromSlash(rel))}
	if dirExists(t.Dir) {
		return t, false, nil // laid whole (by a rename) and never changed since
	}
	unlock := m.lock(k)
	defer unlock()
	if err := os.MkdirAll(filepath.Join(m.dir, "repos"), 0o755); err != nil {
		return t, false, fmt.Errorf("feed mirror: %w", err)
	}
	funlock, err := builder.LockFile(ctx, filepath.Join(m.dir, "repos", k+".lock"))
	if err != nil {
		return t, false, fmt.Errorf("feed mirror: %w", err)
	}
	defer funlock()
	if dirExists(t.Dir) {
		return t, false, nil
	}
	from := m.fetchURL(p)
	repo, err := openBare(filepath.Join(m.dir, "repos", k+".git"), from)
	if err != nil {
		return t, false, err
	}
	h := plumbing.NewHash(p.Commit)
	fetched := false
	if !hasCommit(repo, h) {
		start := time.Now()
		m.opts.Logger.Info("feed mirror: fetching", "feed", p.Name, "from", from, "commit", p.Commit)
		err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RemoteURL: from, Force: true, Tags: git.NoTags,
			RefSpecs: []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return t, false, fmt.Errorf("feed mirror: fetching feed %s from %s: %w (the mirror keeps what it had; builds of SDKs pinning other commits go on)", p.Name, from, err)
		}
		fetched, t.From = true, from
		m.opts.Logger.Info("feed mirror: fetched", "feed", p.Name, "from", from, "seconds", time.Since(start).Seconds())
		if !hasCommit(repo, h) {
			return t, false, fmt.Errorf("feed mirror: feed %s: %s (%s) has no commit %s on any branch or tag, which the SDK's feeds.conf.default pins: %w; the mirror keeps its previous state. Check the URL (and its rewrite), or wait until the repository has the commit",
				p.Name, from, p.URL, p.Commit, ErrMissingCommit)
		}
	}
	if err := m.lay(repo, h, t.Dir); err != nil {
		return t, false, fmt.Errorf("feed mirror: laying out feed %s at %s: %w", p.Name, p.Commit, err)
	}
	return t, fetched, nil
}

// lay writes the commit's files into a fresh folder next to dest and renames it into place, so
// dest exists only whole.
func (m *Mirror) lay(repo *git.Repository, h plumbing.Hash, dest string) error {
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".lay-"+randomHex()+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes 0700; builds read as uid 1000
		return err
	}
	if err := writeTree(repo, h, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

func (m *Mirror) writeState(series string, trees []Tree) error {
	s := State{Series: series, Feeds: append([]Tree(nil), trees...), SyncedAt: time.Now().UTC()}
	sort.SliceStable(s.Feeds, func(i, j int) bool { return s.Feeds[i].Name < s.Feeds[j].Name })
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	p := m.statePath(series)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("feed mirror: %w", err)
	}
	tmp := p + ".tmp-" + randomHex()
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("feed mirror: writing the state of %s: %w", series, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("feed mirror: writing the state of %s: %w", series, err)
	}
	return nil
}

func (m *Mirror) lock(k string) func() {
	m.mu.Lock()
	l := m.locks[k]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[k] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func openBare(dir, url string) (*git.Repository, error) {
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(dir, true)
		if err == nil {
			_, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}})
		}
		if err != nil {
			return nil, fmt.Errorf("feed mirror: making a bare repository for %s: %w", url, err)
		}
		return repo, nil
	}
	if err != nil {
		return nil, fmt.Errorf("feed mirror: opening %s (delete it if it is damaged; it is fetched again): %w", dir, err)
	}
	return repo, nil
}

func hasCommit(repo *git.Repository, h plumbing.Hash) bool {
	_, err := repo.CommitObject(h)
	return err == nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
