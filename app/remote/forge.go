package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Name is the forge of repositories by URL.
const Name = forge.Name(store.ForgeGit)

// Forge is the driver the other stages see for repositories by URL. There is no forge to
// report to: checks are kept by the service alone (the web page, the badge and the API show
// them), comments and reactions have nowhere to go.
type Forge struct{ r *Remotes }

var (
	_ forge.Forge          = Forge{}
	_ forge.CheckoutSource = Forge{}
)

// Forge returns the stage's forge driver.
func (r *Remotes) Forge() Forge { return Forge{r: r} }

// Name implements forge.Forge.
func (Forge) Name() forge.Name { return Name }

// ReportCheck implements forge.Reporter: there is no forge to report to. The check's name is
// its ID, as on GitLab, so that the next report of the job names the same.
func (Forge) ReportCheck(_ context.Context, _ forge.Repo, c forge.Check) (string, error) {
	return c.Name, nil
}

// Reply implements forge.Reporter: no pull requests, nothing to reply on.
func (Forge) Reply(context.Context, forge.Repo, int, string) error { return nil }

// React implements forge.Reporter.
func (Forge) React(context.Context, forge.Repo, forge.CommentRef, forge.Reaction) error { return nil }

// Pull implements forge.Source: a repository by URL has no pull requests.
func (Forge) Pull(context.Context, forge.Repo, int) (forge.Pull, error) {
	return forge.Pull{}, errors.New("a repository registered by URL has no pull requests")
}

// CanTrigger implements forge.Permissions: nobody comments, so nobody triggers by comment.
func (Forge) CanTrigger(context.Context, forge.Repo, forge.User) (bool, error) { return false, nil }

// ReadFile implements forge.Source: the commit is checked out through the clone cache the
// workers share (the job's checkout then finds it there) and the file read from it.
func (f Forge) ReadFile(ctx context.Context, repo forge.Repo, sha, file string) ([]byte, bool, error) {
	url, _, err := f.CheckoutSource(ctx, repo, "")
	if err != nil {
		return nil, false, err
	}
	dir, err := os.MkdirTemp("", "openwrt-ppa-read-")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(dir)
	dest := path.Join(dir, "src")
	if _, err := f.r.checkout.Checkout(ctx, builder.CheckoutRequest{URL: url, Commit: sha}, dest); err != nil {
		return nil, false, fmt.Errorf("checking out %s at %s: %w", repo.FullName(), sha, err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return nil, false, err
	}
	defer root.Close()
	fi, err := root.Lstat(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s is not a regular file", file)
	}
	if fi.Size() > maxConfigBytes {
		return nil, false, fmt.Errorf("%s is larger than %d bytes", file, maxConfigBytes)
	}
	data, err := root.ReadFile(file)
	return data, err == nil, err
}

// CheckoutSource implements forge.CheckoutSource: the registered URL under the checked
// transport's scheme, with the deploy key for ssh.
func (f Forge) CheckoutSource(ctx context.Context, repo forge.Repo, _ string) (string, transport.AuthMethod, error) {
	rem, err := f.r.remoteOf(ctx, repo)
	if err != nil {
		return "", nil, err
	}
	url, err := giturl.Rewrite(rem.URL)
	if err != nil {
		return "", nil, err
	}
	auth, err := f.r.deployAuth(rem)
	if err != nil {
		return "", nil, err
	}
	if auth != nil {
		f.r.creds.Store(url, auth)
	}
	return url, auth, nil
}

// remoteOf finds the remote of a forge repository (its ID is the stored ForgeID).
func (r *Remotes) remoteOf(ctx context.Context, repo forge.Repo) (store.Remote, error) {
	sr, err := r.store.RepositoryByForgeID(ctx, store.ForgeGit, strconv.FormatInt(repo.ID, 10))
	if err != nil {
		return store.Remote{}, fmt.Errorf("repository %s: %w", repo.FullName(), err)
	}
	rem, err := r.store.Remote(ctx, sr.ID)
	if err != nil {
		return store.Remote{}, fmt.Errorf("the URL of %s (it was removed?): %w", repo.FullName(), err)
	}
	return rem, nil
}

// maxConfigBytes bounds the configuration file read (builder's parser refuses larger ones).
const maxConfigBytes = 64 << 10
