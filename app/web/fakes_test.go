package web

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// fakeFeeds is a FeedLister over a fixed set of feeds.
type fakeFeeds struct {
	feeds map[int64][]Feed                   // by repository ID
	pkgs  map[string][]Package               // by feedKey
	keys  map[int64]map[store.KeyKind]string // fingerprints
}

func feedKey(repoID int64, ref store.Ref, series, arch string) string {
	return fmt.Sprintf("%d|%s|%s|%s", repoID, ref, series, arch)
}

func (f *fakeFeeds) add(repoID int64, ref store.Ref, series, arch string, updated time.Time, pkgs ...Package) {
	if f.feeds == nil {
		f.feeds, f.pkgs, f.keys = map[int64][]Feed{}, map[string][]Package{}, map[int64]map[store.KeyKind]string{}
	}
	f.feeds[repoID] = append(f.feeds[repoID], Feed{Ref: ref, Series: series, Arch: arch, Packages: len(pkgs), Updated: updated})
	f.pkgs[feedKey(repoID, ref, series, arch)] = pkgs
}

func (f *fakeFeeds) Feeds(ctx context.Context, repo store.Repository) ([]Feed, error) {
	return slices.Clone(f.feeds[repo.ID]), ctx.Err()
}

func (f *fakeFeeds) Packages(ctx context.Context, repo store.Repository, ref store.Ref, series, arch string) ([]Package, error) {
	p, ok := f.pkgs[feedKey(repo.ID, ref, series, arch)]
	if !ok {
		return nil, fmt.Errorf("feed %s %s/%s: %w", ref, series, arch, store.ErrNotFound)
	}
	return p, ctx.Err()
}

func (f *fakeFeeds) KeyFingerprint(ctx context.Context, repo store.Repository, kind store.KeyKind) (string, error) {
	return f.keys[repo.ID][kind], ctx.Err()
}

// fakeAuth grants write (and read) to the listed forge users per repository path.
type fakeAuth struct {
	mu      sync.Mutex
	writers map[string][]string // repo path → "forge:login"
	fail    bool                // the forge cannot be asked
	asked   int
}

func (a *fakeAuth) CanWrite(ctx context.Context, repo store.Repository, u User) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked++
	if a.fail {
		return false, fmt.Errorf("forge down")
	}
	return slices.Contains(a.writers[repo.Path()], u.Forge+":"+u.Login), ctx.Err()
}

func (a *fakeAuth) CanRead(ctx context.Context, repo store.Repository, u User) (bool, error) {
	return a.CanWrite(ctx, repo, u)
}

// refusal is a rebuild refused as the events stage refuses it (see Rebuilder): its message is
// the advice alone, and it is a store.ErrInvalid.
type refusal string

func (e refusal) Error() string        { return string(e) }
func (e refusal) Is(target error) bool { return target == store.ErrInvalid }

// fakeRebuilder makes a forced build with one queued job per series/arch of the ref's latest
// build, as the service would.
type fakeRebuilder struct {
	st    store.Store
	mu    sync.Mutex
	calls []string
	err   error
}

func (f *fakeRebuilder) Rebuild(ctx context.Context, repoID int64, ref store.Ref, actor string) (int64, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%d %s %s", repoID, ref, actor))
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	prev, err := f.st.LatestBuild(ctx, repoID, ref)
	if err != nil {
		return 0, fmt.Errorf("no build of %s to repeat: %w", ref, err)
	}
	b, err := f.st.CreateBuild(ctx, store.Build{RepoID: repoID, CommitSHA: prev.CommitSHA, Ref: ref,
		Trigger: store.TriggerRerun, Actor: actor, Forced: true, Status: store.StatusQueued})
	if err != nil {
		return 0, err
	}
	old, err := f.st.JobsOfBuild(ctx, prev.ID)
	if err != nil {
		return 0, err
	}
	var jobs []store.Job
	for _, j := range old {
		jobs = append(jobs, store.Job{BuildID: b.ID, Series: j.Series, Arch: j.Arch, Image: j.Image, Status: store.StatusQueued})
	}
	if len(jobs) > 0 {
		if _, err := f.st.CreateJobs(ctx, jobs); err != nil {
			return 0, err
		}
	}
	return b.ID, nil
}

var (
	_ FeedLister = (*fakeFeeds)(nil)
	_ Authorizer = (*fakeAuth)(nil)
	_ Rebuilder  = (*fakeRebuilder)(nil)
)

func (a *fakeAuth) setFail(fail bool) {
	a.mu.Lock()
	a.fail = fail
	a.mu.Unlock()
}

func (f *fakeRebuilder) setErr(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeRebuilder) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// clock is a settable time source; zero means the real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fakeRegistrar registers repositories by URL in the store, refusing what the real one would
// for the API's sake: a URL not starting with https:// or ssh://, a name held. It remembers
// who added what for RepoRemote.
type fakeRegistrar struct {
	st    store.Store
	mu    sync.Mutex
	added map[int64]registered
}

type registered struct {
	AddedRepo
	by User
}

func (f *fakeRegistrar) AddRepo(ctx context.Context, user User, url, name string) (AddedRepo, error) {
	ssh := strings.HasPrefix(url, "ssh://")
	if !strings.HasPrefix(url, "https://") && !ssh {
		return AddedRepo{}, fmt.Errorf("%w: %s is not https", ErrRegisterRefused, url)
	}
	owner, repo, _ := strings.Cut(cmp.Or(name, "carol/feed"), "/")
	if _, err := f.st.RepositoryByPath(ctx, owner, repo); err == nil {
		return AddedRepo{}, fmt.Errorf("%w: %s/%s is held; choose another with --name owner/repo", ErrRegisterConflict, owner, repo)
	}
	r, err := f.st.PutRepository(ctx, store.Repository{Forge: store.ForgeGit, ForgeID: "5" + owner + repo, Owner: owner, Name: repo, CloneURL: url, Private: ssh})
	if err != nil {
		return AddedRepo{}, err
	}
	a := AddedRepo{Repo: r, URL: url, WebhookURL: fmt.Sprintf("http://x/webhooks/git/%d", r.ID), WebhookSecret: fmt.Sprintf("secret-%d", r.ID)}
	if ssh {
		a.DeployKey = fmt.Sprintf("ssh-ed25519 AAAAfake%d openwrt-ppa %s", r.ID, r.Path())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.added == nil {
		f.added = map[int64]registered{}
	}
	f.added[r.ID] = registered{AddedRepo: a, by: user}
	return a, nil
}

func (f *fakeRegistrar) RemoveRepo(ctx context.Context, user User, repo store.Repository) error {
	if !user.Admin() {
		return fmt.Errorf("%w: only its adder or an admin", ErrRegisterForbidden)
	}
	return nil
}

func (f *fakeRegistrar) RepoRemote(_ context.Context, user User, repo store.Repository) (AddedRepo, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.added[repo.ID]
	if !ok || !user.Admin() && a.by != user {
		return AddedRepo{}, false, nil
	}
	return a.AddedRepo, true, nil
}
