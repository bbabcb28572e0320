package jobs

import (
	"context"
	"net/url"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// checkoutRepoKey carries the repository being checked out to submoduleAccess: the checkouter
// is shared by every job, the question is the job's.
type checkoutRepoKey struct{}

func withCheckoutRepo(ctx context.Context, repo store.Repository) context.Context {
	return context.WithValue(ctx, checkoutRepoKey{}, repo)
}

// submoduleAccess decides whether a private repository's credentials may fetch its submodule at
// rawURL (the builder has already checked it is on the repository's own scheme, host and port).
// The forge's credential can read more than the repository's owner may (GitLab's service token
// reads every project), so a submodule of another owner gets it only when the forge says the
// owner may read it. On GitHub only the owner's own repositories do, as the installation's token
// reads nothing else. Everything else is fetched anonymously.
func (w *Worker) submoduleAccess(ctx context.Context, rawURL string) (bool, error) {
	repo, ok := ctx.Value(checkoutRepoKey{}).(store.Repository)
	if !ok {
		return false, nil
	}
	target, ok := submoduleRepo(repo, rawURL)
	if !ok {
		return false, nil
	}
	if repo.Forge == string(forge.GitHub) {
		// An installation belongs to one account: its token reads that account's repositories
		// the app was installed on, and nothing of anyone else's.
		return strings.EqualFold(target.Owner, repo.Owner), nil
	}
	f, err := w.forges.Get(forge.Name(repo.Forge))
	if err != nil {
		return false, err
	}
	// CanTrigger asks for write access or more (GitHub) or Developer (GitLab): stricter than
	// read, never looser.
	return f.CanTrigger(ctx, target, forge.User{Login: repo.Owner})
}

// submoduleRepo names the repository a submodule URL points at on the forge of repo: the URL's
// path below the folder the forge serves repo from (a GitLab may live below a path), as
// owner/name. ok is false for a URL on another origin or with a path that names no repository.
func submoduleRepo(repo store.Repository, rawURL string) (forge.Repo, bool) {
	main, err := url.Parse(repo.CloneURL)
	if err != nil {
		return forge.Repo{}, false
	}
	sub, err := url.Parse(rawURL)
	if err != nil || sub.Scheme != main.Scheme || !strings.EqualFold(sub.Host, main.Host) || sub.RawQuery != "" || sub.Fragment != "" {
		return forge.Repo{}, false
	}
	own := strings.TrimSuffix(strings.Trim(main.Path, "/"), ".git")
	base, ok := strings.CutSuffix(own, repo.Owner+"/"+repo.Name)
	if !ok {
		return forge.Repo{}, false
	}
	p, ok := strings.CutPrefix(strings.TrimSuffix(strings.Trim(sub.Path, "/"), ".git"), base)
	if !ok || p == "" {
		return forge.Repo{}, false
	}
	i := strings.LastIndex(p, "/")
	if i <= 0 || i == len(p)-1 {
		return forge.Repo{}, false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return forge.Repo{}, false
		}
	}
	r := model.ForgeRepo(repo)
	return forge.Repo{Forge: r.Forge, Owner: p[:i], Name: p[i+1:], CloneURL: rawURL, Installation: r.Installation}, true
}
