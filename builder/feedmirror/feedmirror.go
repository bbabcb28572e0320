// Package feedmirror keeps one trusted copy of the SDK's standard feeds (base, packages, luci,
// routing, telephony) per series, at exactly the commits the SDK's feeds.conf.default pins.
//
// Without it every build's `scripts/feeds update` clones them itself: on 24.10 a full clone of
// each pinned repository (the whole of openwrt.git for base) per cache volume, from inside the
// sandbox, where a clone killed by the time limit can leave a feed at the wrong commit. The
// service fetches them here instead, outside every build (a shallow fetch of the pinned commit
// when the server allows it), checks the commit, and executors share the trees read-only into
// builds, whose feeds.conf then names them with src-link: builds need no network for feeds.
package feedmirror

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
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

// Standard are the feeds the mirror keeps: what an SDK's feeds.conf.default names besides the
// repository's own and extra feeds.
var Standard = []string{"base", "packages", "luci", "routing", "telephony"}

// GitHubRewrites point git.openwrt.org's repositories at their GitHub mirrors, as OpenWrt's own
// CI action (gh-action-sdk) does: better connected, and they serve a single pinned commit.
var GitHubRewrites = []Rewrite{
	{From: "https://git.openwrt.org/feed/", To: "https://github.com/openwrt/"},
	{From: "https://git.openwrt.org/openwrt/", To: "https://github.com/openwrt/"},
	{From: "https://git.openwrt.org/project/", To: "https://github.com/openwrt/"},
}

// Rewrite replaces the prefix From of a feed's URL with To.
type Rewrite struct{ From, To string }

// ParseRewrite reads "FROM=TO" (a flag's value).
func ParseRewrite(s string) (Rewrite, error) {
	from, to, ok := strings.Cut(s, "=")
	if !ok || from == "" || to == "" {
		return Rewrite{}, fmt.Errorf("feed URL rewrite %q: write FROM=TO, e.g. https://git.openwrt.org/=https://git.example.org/openwrt/", s)
	}
	for _, u := range []string{from, to} {
		if _, err := checkURL(u); err != nil {
			return Rewrite{}, fmt.Errorf("feed URL rewrite %q: %w", s, err)
		}
	}
	return Rewrite{From: from, To: to}, nil
}

// Pin is one standard feed of a feeds.conf.default, pinned at a commit.
type Pin struct {
	Name, URL, Commit string
}

var (
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
	seriesRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
)

// ParsePins returns the standard feeds that conf (a feeds.conf.default) pins at a commit
// ("src-git NAME URL^COMMIT"). Feeds that follow a branch (snapshots) cannot be verified and
// are left to the build, as are other names.
func ParsePins(conf string) []Pin {
	var pins []Pin
	for _, line := range strings.Split(conf, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "src-git" && f[0] != "src-git-full" || !isStandard(f[1]) {
			continue
		}
		u, commit, ok := strings.Cut(f[2], "^")
		if !ok || !commitRe.MatchString(commit) {
			continue
		}
		pins = append(pins, Pin{Name: f[1], URL: u, Commit: commit})
	}
	return pins
}

func isStandard(name string) bool {
	for _, s := range Standard {
		if s == name {
			return true
		}
	}
	return false
}

// Options configure a Mirror.
type Options struct {
	Dir      string    // where the trees live: DIR/<series>/<feed>@<commit>
	Rewrites []Rewrite // URL prefix rewrites, the first match wins (GitHubRewrites, a local mirror, tests)
	// FetchTimeout bounds fetching one feed (default 20 minutes).
	FetchTimeout time.Duration
	Logger       *slog.Logger
}

// Mirror is the store of verified feed trees. It is safe for concurrent use, also by several
// processes sharing Dir (a lock file per series and feed).
type Mirror struct {
	opts  Options
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// New returns a mirror keeping its trees under opts.Dir.
func New(opts Options) (*Mirror, error) {
	if opts.Dir == "" {
		return nil, errors.New("feed mirror: no folder given")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("feed mirror: %w", err)
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 20 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Mirror{opts: opts, locks: map[string]*sync.Mutex{}}, nil
}

// Dir is the mirror's root folder.
func (m *Mirror) Dir() string { return m.opts.Dir }

// URL is where the mirror fetches a feed of URL u from: u rewritten.
func (m *Mirror) URL(u string) string {
	for _, r := range m.opts.Rewrites {
		if rest, ok := strings.CutPrefix(u, r.From); ok {
			return r.To + rest
		}
	}
	return u
}

// Ensure makes sure every pinned standard feed of conf (the SDK's feeds.conf.default) is in the
// mirror for series, fetching the missing ones, and returns the folder of each by feed name.
// A tree is only ever moved into place once its commit was checked: a fetch that fails or is
// killed midway leaves nothing a build could use.
func (m *Mirror) Ensure(ctx context.Context, series, conf string) (map[string]string, error) {
	if !seriesRe.MatchString(series) {
		return nil, fmt.Errorf("feed mirror: series %q is not a plain name", series)
	}
	out := map[string]string{}
	for _, p := range ParsePins(conf) {
		dir, err := m.ensure(ctx, series, p)
		if err != nil {
			return nil, err
		}
		out[p.Name] = dir
	}
	return out, nil
}

// Path is the folder of a feed's tree at commit for series (it may not exist yet).
func (m *Mirror) Path(series, feed, commit string) string {
	return filepath.Join(m.opts.Dir, series, feed+"@"+commit)
}

func (m *Mirror) ensure(ctx context.Context, series string, p Pin) (string, error) {
	final := m.Path(series, p.Name, p.Commit)
	if dirExists(final) {
		return final, nil
	}
	key := series + "/" + p.Name
	m.mu.Lock()
	l := m.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[key] = l
	}
	m.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	seriesDir := filepath.Join(m.opts.Dir, series)
	if err := os.MkdirAll(seriesDir, 0o755); err != nil {
		return "", fmt.Errorf("feed mirror: %w", err)
	}
	unlock, err := builder.LockFile(ctx, filepath.Join(seriesDir, "."+p.Name+".lock"))
	if err != nil {
		return "", fmt.Errorf("feed mirror: %w", err)
	}
	defer unlock()
	if dirExists(final) { // another process fetched it meanwhile
		return final, nil
	}
	// With the lock held, temporary folders of this feed are leftovers of a killed fetch.
	stale, _ := filepath.Glob(filepath.Join(seriesDir, ".tmp-"+p.Name+"-*"))
	for _, s := range stale {
		_ = os.RemoveAll(s)
	}
	src := m.URL(p.URL)
	if _, err := checkURL(src); err != nil {
		return "", fmt.Errorf("feed mirror: feed %s of series %s: %w", p.Name, series, err)
	}
	tmp := filepath.Join(seriesDir, ".tmp-"+p.Name+"-"+randomHex(4))
	start := time.Now()
	fctx, cancel := context.WithTimeout(ctx, m.opts.FetchTimeout)
	defer cancel()
	shallow, err := fetchCommit(fctx, tmp, src, p.Commit)
	if err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("%w: feed mirror: fetching feed %s (%s) at %s for series %s: %w", builder.ErrExecutor, p.Name, src, p.Commit, series, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("feed mirror: %w", err)
	}
	m.opts.Logger.Info("mirrored a standard feed", "series", series, "feed", p.Name, "commit", p.Commit, "url", src,
		"shallow", shallow, "seconds", time.Since(start).Round(time.Millisecond).Seconds())
	m.prune(seriesDir, p.Name, final)
	return final, nil
}

// keepOld is how many older trees of a feed stay beside the newest: builds of the previous
// point release may still run on one (it is bind-mounted into them).
const keepOld = 1

// prune removes the trees of a feed but the newest keepOld+1 (by when they were made).
func (m *Mirror) prune(seriesDir, feed, newest string) {
	dirs, _ := filepath.Glob(filepath.Join(seriesDir, feed+"@*"))
	type tree struct {
		path string
		mod  time.Time
	}
	var trees []tree
	for _, d := range dirs {
		if d == newest {
			continue
		}
		if fi, err := os.Stat(d); err == nil {
			trees = append(trees, tree{d, fi.ModTime()})
		}
	}
	sort.Slice(trees, func(i, j int) bool { return trees[i].mod.After(trees[j].mod) })
	for i := keepOld; i < len(trees); i++ {
		if err := os.RemoveAll(trees[i].path); err == nil {
			m.opts.Logger.Info("removed an old mirrored feed", "path", trees[i].path)
		}
	}
}

// fetchCommit fetches commit from src into a new repository at dir, checks it out and drops the
// git data (builds need the tree only; the folder's name says the commit). It fetches the one
// commit without history when the server allows it (GitHub does), else every branch and tag.
func fetchCommit(ctx context.Context, dir, src, commit string) (shallow bool, err error) {
	r, err := git.PlainInit(dir, false)
	if err != nil {
		return false, err
	}
	if _, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{src}}); err != nil {
		return false, err
	}
	want := plumbing.NewHash(commit)
	err = r.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Depth: 1, Tags: git.NoTags,
		RefSpecs: []config.RefSpec{config.RefSpec(commit + ":refs/heads/pinned")}})
	shallow = err == nil
	if errors.Is(err, git.ErrExactSHA1NotSupported) {
		err = r.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Tags: git.NoTags,
			RefSpecs: []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}})
	}
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return false, err
	}
	// Objects are stored under the hash of their content: the commit being there means its
	// tree is the one pinned.
	if _, err := r.CommitObject(want); err != nil {
		return false, fmt.Errorf("the server has no commit %s: %w", commit, err)
	}
	w, err := r.Worktree()
	if err != nil {
		return false, err
	}
	if err := w.Checkout(&git.CheckoutOptions{Hash: want, Force: true}); err != nil {
		return false, fmt.Errorf("checking out %s: %w", commit, err)
	}
	head, err := r.Head()
	if err != nil || head.Hash() != want {
		return false, fmt.Errorf("the checkout is not at %s (%v)", commit, err)
	}
	if err := os.RemoveAll(filepath.Join(dir, ".git")); err != nil {
		return false, err
	}
	// Builds read it as the build user: whatever the service's umask, the tree is world-readable.
	return shallow, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Type()&os.ModeSymlink != 0 {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm() | 0o444
		if d.IsDir() || fi.Mode().Perm()&0o100 != 0 {
			mode |= 0o111
		}
		if mode != fi.Mode().Perm() {
			return os.Chmod(p, mode)
		}
		return nil
	})
}

// checkURL allows what a feed may be fetched from: http(s) with a host, nothing local.
func checkURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%q: feeds are fetched over http(s) from a host, without credentials", s)
	}
	return u, nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
