package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// ReadFile reads path at commit sha through the contents API; 404 is found=false.
func (c *Client) ReadFile(ctx context.Context, repo forge.Repo, sha, path string) ([]byte, bool, error) {
	cl, err := c.installation(ctx, repo)
	if err != nil {
		return nil, false, err
	}
	var file *gh.RepositoryContent
	var resp *gh.Response
	err = c.do(ctx, "get contents", func() (*gh.Response, error) {
		file, _, resp, err = cl.Repositories.GetContents(ctx, repo.Owner, repo.Name, path, &gh.RepositoryContentGetOptions{Ref: sha})
		return resp, err
	})
	if notFound(resp, err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("github: reading %s at %s in %s: %w", path, short(sha), repo.FullName(), err)
	}
	if file == nil {
		return nil, false, fmt.Errorf("github: %s in %s is a directory, not a file", path, repo.FullName())
	}
	text, err := file.GetContent()
	if err != nil {
		return nil, false, fmt.Errorf("github: decoding %s in %s: %w", path, repo.FullName(), err)
	}
	return []byte(text), true, nil
}

// Pull returns the pull request's current head.
func (c *Client) Pull(ctx context.Context, repo forge.Repo, number int) (forge.Pull, error) {
	cl, err := c.installation(ctx, repo)
	if err != nil {
		return forge.Pull{}, err
	}
	var pr *gh.PullRequest
	err = c.do(ctx, "get pull request", func() (*gh.Response, error) {
		var resp *gh.Response
		pr, resp, err = cl.PullRequests.Get(ctx, repo.Owner, repo.Name, number)
		return resp, err
	})
	if err != nil {
		return forge.Pull{}, fmt.Errorf("github: reading pull request #%d of %s: %w", number, repo.FullName(), err)
	}
	base := pr.GetBase().GetRepo()
	if base == nil {
		base = &gh.Repository{ID: gh.Ptr(repo.ID)}
	}
	return pull(pr, base), nil
}

// CanTrigger: write, maintain or admin on the repository. role_name tells maintain apart
// (the older "permission" field says "write" for it).
func (c *Client) CanTrigger(ctx context.Context, repo forge.Repo, user forge.User) (bool, error) {
	if user.Login == "" {
		return false, nil
	}
	cl, err := c.installation(ctx, repo)
	if err != nil {
		return false, err
	}
	var perm *gh.RepositoryPermissionLevel
	var resp *gh.Response
	err = c.do(ctx, "get permission", func() (*gh.Response, error) {
		perm, resp, err = cl.Repositories.GetPermissionLevel(ctx, repo.Owner, repo.Name, user.Login)
		return resp, err
	})
	if notFound(resp, err) {
		return false, nil // no such user, or not one GitHub will tell us about
	}
	if err != nil {
		return false, fmt.Errorf("github: asking %s's permission on %s: %w", user.Login, repo.FullName(), err)
	}
	switch perm.GetRoleName() {
	case "write", "maintain", "admin":
		return true, nil
	}
	switch perm.GetPermission() {
	case "write", "admin":
		return true, nil
	}
	return false, nil
}
