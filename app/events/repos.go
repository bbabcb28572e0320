package events

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// OwnerSegment is the URL form of an owner: a GitLab namespace's "/" becomes "~".
func OwnerSegment(owner string) string { return strings.ReplaceAll(owner, "/", "~") }

// checkRepoPath refuses repositories whose owner or name cannot become a feed URL and folder.
func checkRepoPath(r forge.Repo) error {
	if _, err := feeds.RepoDir(r.Owner, r.Name); err != nil {
		return fmt.Errorf("%s cannot be published here: %w; ask the operator", r.FullName(), err)
	}
	return nil
}

func toStoreRepo(r forge.Repo, installation int64) store.Repository {
	if r.Installation != 0 {
		installation = r.Installation
	}
	return store.Repository{
		Forge: string(r.Forge), ForgeID: strconv.FormatInt(r.ID, 10), Owner: r.Owner, Name: r.Name,
		DefaultBranch: r.DefaultBranch, Private: r.Private, InstallationID: installation, CloneURL: r.CloneURL,
	}
}

// repository registers the event's repository (or refreshes its record) and returns it.
func (r *eventRun) repository(ctx context.Context) (store.Repository, error) {
	if err := r.canonicalRepo(ctx); err != nil {
		return store.Repository{}, err
	}
	if err := checkRepoPath(r.ev.Repo); err != nil {
		return store.Repository{}, err
	}
	sr := toStoreRepo(r.ev.Repo, r.ev.Installation)
	old, err := r.store.RepositoryByForgeID(ctx, sr.Forge, sr.ForgeID)
	switch {
	case err == nil:
		// Only installation events enable or disable; others keep what the store knows, and
		// some (comments) do not say which branch is the default.
		sr.Disabled = old.Disabled
		if sr.DefaultBranch == "" {
			sr.DefaultBranch = old.DefaultBranch
		}
		if sr.CloneURL == "" {
			sr.CloneURL = old.CloneURL
		}
		if sr.InstallationID == 0 {
			sr.InstallationID = old.InstallationID
		}
	case !errors.Is(err, store.ErrNotFound):
		return old, model.Retry(err)
	}
	if old.ID != 0 && unchanged(old, sr) {
		// Nearly every event finds its repository as it was: no write (and no fsync that the
		// webhooks' commits would wait behind).
		return old, nil
	}
	repo, err := r.store.PutRepository(ctx, sr)
	if err != nil && !errors.Is(err, store.ErrPathTaken) && !errors.Is(err, store.ErrInvalid) {
		return repo, model.Retry(err)
	}
	if err == nil && old.ID != 0 && store.PathKey(old.Owner, old.Name) != store.PathKey(repo.Owner, repo.Name) {
		r.moveFeeds(old, repo)
	}
	return repo, err
}

// unchanged reports whether storing sr would leave old as it is.
func unchanged(old, sr store.Repository) bool {
	return old.Forge == sr.Forge && old.ForgeID == sr.ForgeID && old.Owner == sr.Owner && old.Name == sr.Name &&
		old.DefaultBranch == sr.DefaultBranch && old.CloneURL == sr.CloneURL && old.Private == sr.Private &&
		old.InstallationID == sr.InstallationID && old.Disabled == sr.Disabled
}

// moveFeeds follows a renamed or transferred repository: its feeds move to the new path, so
// the old path holds nothing (a private repository's feeds must not stay behind where no
// repository guards them).
func (r *eventRun) moveFeeds(from, to store.Repository) {
	oldRel, err1 := feeds.RepoDir(from.Owner, from.Name)
	newRel, err2 := feeds.RepoDir(to.Owner, to.Name)
	if err1 != nil || err2 != nil {
		return
	}
	root := r.data.Feeds()
	oldDir, newDir := filepath.Join(root, filepath.FromSlash(oldRel)), filepath.Join(root, filepath.FromSlash(newRel))
	if _, err := os.Stat(oldDir); err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(newDir), 0o755); err == nil {
		if err := os.Rename(oldDir, newDir); err == nil {
			r.log.Info("repository renamed; feeds moved", "from", from.Path(), "to", to.Path())
			return
		}
	}
	// The new path has feeds already (or the move failed): the old ones go.
	if err := os.RemoveAll(oldDir); err != nil {
		r.log.Error("repository renamed; removing its feeds at the old path failed", "path", oldDir, "err", err)
	}
}

func (r *eventRun) registerRepos(ctx context.Context) error {
	var errs []error
	for _, fr := range r.ev.Repos {
		if err := checkRepoPath(fr); err != nil {
			errs = append(errs, err)
			continue
		}
		repo, err := r.store.PutRepository(ctx, toStoreRepo(fr, r.ev.Installation))
		if err != nil {
			errs = append(errs, fmt.Errorf("registering %s: %w", fr.FullName(), err))
			continue
		}
		if repo.Disabled {
			if err := r.store.SetRepositoryDisabled(ctx, repo.ID, false); err != nil {
				errs = append(errs, err)
			}
		}
		r.log.Info("repository registered", "repo", repo.Path(), "repo_id", repo.ID)
	}
	return errors.Join(errs...)
}

// disableRepos stops builds of repositories the app lost access to; their feeds stay until an
// admin removes them, since routers may still use them.
func (r *eventRun) disableRepos(ctx context.Context) error {
	var errs []error
	for _, fr := range r.ev.Repos {
		repo, err := r.store.RepositoryByForgeID(ctx, string(fr.Forge), strconv.FormatInt(fr.ID, 10))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err == nil {
			err = r.store.SetRepositoryDisabled(ctx, repo.ID, true)
		}
		if err == nil {
			// No more builds: the queued and running ones stop too.
			for _, ref := range r.pendingRefs(ctx, repo) {
				r.cancelOlder(ctx, repo, store.Build{Ref: ref, ID: 1 << 62}, nil, "The app lost access to the repository.")
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("disabling %s: %w", fr.FullName(), err))
			continue
		}
		r.log.Info("repository disabled", "repo", repo.Path(), "repo_id", repo.ID)
	}
	return errors.Join(errs...)
}

// pendingRefs are the refs of a repository with builds that are not finished.
func (r *eventRun) pendingRefs(ctx context.Context, repo store.Repository) []store.Ref {
	builds, err := r.store.LatestBuilds(ctx, repo.ID)
	if err != nil {
		return nil
	}
	var refs []store.Ref
	for _, b := range builds {
		refs = append(refs, b.Ref)
	}
	return refs
}

// canonicalRepo replaces the event's copy of the repository with the forge's own record when the
// forge's webhooks cannot be trusted for it (GitLab: one token shared by every project, so a
// delivery could name another project's id with its own clone URL or visibility).
func (r *eventRun) canonicalRepo(ctx context.Context) error {
	f, err := r.forges.Get(r.ev.Repo.Forge)
	if err != nil {
		return nil // nothing to ask; reporting will say the forge is not configured
	}
	rl, ok := f.(forge.RepoLookup)
	if !ok {
		return nil
	}
	c, err := rl.LookupRepo(ctx, r.ev.Repo)
	if err != nil {
		return model.Retry(fmt.Errorf("reading the repository from %s: %w", r.ev.Repo.Forge, err))
	}
	c.Installation = r.ev.Repo.Installation
	r.ev.Repo = c
	return nil
}
