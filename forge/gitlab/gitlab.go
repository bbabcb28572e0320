// Package gitlab is the GitLab driver of forge: Webhook checks X-Gitlab-Token and parses
// deliveries without I/O (parse.go, convert.go); Client sets commit statuses, writes merge
// request notes and award emoji, and reads access levels and files through client-go.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Config sets up the GitLab client.
type Config struct {
	URL   string // GitLab's root (https://gitlab.com); /api/v4 is added
	Token string // a project, group or bot token with api scope, Developer or more
	// Transport carries every request; nil means http.DefaultTransport.
	Transport http.RoundTripper
	Timeout   time.Duration // per request; 0 means 30 s
	// RetryWaitMin/Max bound client-go's backoff on 429 and 5xx; 0 keeps its defaults.
	RetryWaitMin, RetryWaitMax time.Duration
	Logger                     *slog.Logger
}

// Client is the GitLab driver: commit statuses, merge request notes and award emoji, member
// access levels and raw files, through client-go (which retries 429 and 5xx answers with
// backoff). Safe for concurrent use.
type Client struct {
	api   *gl.Client
	log   *slog.Logger
	token string
}

var _ forge.Forge = (*Client)(nil)

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" || cfg.Token == "" {
		return nil, errors.New("gitlab: set OPENWRT_PPA_GITLAB_URL and OPENWRT_PPA_GITLAB_TOKEN (a token with api scope)")
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := []gl.ClientOptionFunc{
		gl.WithBaseURL(strings.TrimRight(cfg.URL, "/")),
		gl.WithHTTPClient(&http.Client{Transport: cfg.Transport, Timeout: cfg.Timeout}),
		gl.WithUserAgent("openwrt-ppa"),
	}
	if cfg.RetryWaitMin > 0 && cfg.RetryWaitMax > 0 {
		opts = append(opts, gl.WithCustomRetryWaitMinMax(cfg.RetryWaitMin, cfg.RetryWaitMax))
	}
	api, err := gl.NewClient(cfg.Token, opts...)
	if err != nil {
		return nil, fmt.Errorf("gitlab: URL %q: %w", cfg.URL, err)
	}
	return &Client{api: api, log: cfg.Logger, token: cfg.Token}, nil
}

var _ forge.CloneCredentialer = (*Client)(nil)

// CloneCredentials are the service's token, which GitLab takes as the password of git over
// HTTPS with any user name ("oauth2" is what GitLab documents for tokens).
func (c *Client) CloneCredentials(_ context.Context, _ forge.Repo) (string, string, error) {
	return "oauth2", c.token, nil
}

// Name is forge.GitLab.
func (c *Client) Name() forge.Name { return forge.GitLab }

// pid is the project's numeric id, or its path when the id is not known.
func pid(r forge.Repo) any {
	if r.ID != 0 {
		return r.ID
	}
	return r.FullName()
}

// status reports the HTTP status of a client-go error, or 0.
func status(resp *gl.Response, err error) int {
	if resp != nil && resp.Response != nil {
		return resp.StatusCode
	}
	if er, ok := errors.AsType[*gl.ErrorResponse](err); ok && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// ReadFile reads path at sha; 404 is found=false.
func (c *Client) ReadFile(ctx context.Context, repo forge.Repo, sha, path string) ([]byte, bool, error) {
	data, resp, err := c.api.RepositoryFiles.GetRawFile(pid(repo), path, &gl.GetRawFileOptions{Ref: &sha}, gl.WithContext(ctx))
	if status(resp, err) == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("gitlab: reading %s at %.12s in %s: %w", path, sha, repo.FullName(), err)
	}
	return data, true, nil
}

// Pull returns the merge request's current head.
func (c *Client) Pull(ctx context.Context, repo forge.Repo, number int) (forge.Pull, error) {
	mr, _, err := c.api.MergeRequests.GetMergeRequest(pid(repo), int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return forge.Pull{}, fmt.Errorf("gitlab: reading merge request !%d of %s: %w", number, repo.FullName(), err)
	}
	return forge.Pull{
		Number:   int(mr.IID),
		BaseRef:  mr.TargetBranch,
		HeadRef:  mr.SourceBranch,
		HeadSHA:  mr.SHA,
		FromFork: mr.SourceProjectID != mr.TargetProjectID,
		Merged:   mr.State == "merged",
	}, nil
}

// CanTrigger: the member's access level in the project, inherited from groups included, is
// Developer or higher. A non-member (404) may not.
func (c *Client) CanTrigger(ctx context.Context, repo forge.Repo, user forge.User) (bool, error) {
	if user.ID == 0 && user.Login != "" {
		// Sign-in on the web knows the user by name only: ask GitLab for the id.
		users, _, err := c.api.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(user.Login)}, gl.WithContext(ctx))
		if err != nil {
			return false, fmt.Errorf("gitlab: looking up user %s: %w", user.Login, err)
		}
		for _, u := range users {
			if u.Username == user.Login {
				user.ID = u.ID
			}
		}
	}
	if user.ID == 0 {
		return false, nil
	}
	m, resp, err := c.api.ProjectMembers.GetInheritedProjectMember(pid(repo), user.ID, gl.WithContext(ctx))
	if status(resp, err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gitlab: asking %s's access level in %s: %w", user.Login, repo.FullName(), err)
	}
	return m.AccessLevel >= gl.DeveloperPermissions, nil
}

var _ forge.RepoLookup = (*Client)(nil)

// LookupRepo reads the project by id: its path, clone URL, default branch and visibility, as
// GitLab holds them, whatever a webhook said.
func (c *Client) LookupRepo(ctx context.Context, repo forge.Repo) (forge.Repo, error) {
	if repo.ID == 0 {
		return forge.Repo{}, errors.New("gitlab: the delivery names no project id")
	}
	p, _, err := c.api.Projects.GetProject(repo.ID, &gl.GetProjectOptions{}, gl.WithContext(ctx))
	if err != nil {
		return forge.Repo{}, fmt.Errorf("gitlab: reading project %d: %w", repo.ID, err)
	}
	out := forge.Repo{Forge: forge.GitLab, ID: p.ID, Name: p.Path, CloneURL: p.HTTPURLToRepo, WebURL: p.WebURL,
		DefaultBranch: p.DefaultBranch, Private: p.Visibility != gl.PublicVisibility}
	if p.Namespace != nil {
		out.Owner = p.Namespace.FullPath
	}
	if out.Owner == "" || out.Name == "" {
		return forge.Repo{}, fmt.Errorf("gitlab: project %d has no namespace path or name", repo.ID)
	}
	return out, nil
}

var _ forge.RefChecker = (*Client)(nil)

// RefExists asks GitLab whether the branch or tag (refs/heads/…, refs/tags/…) exists.
func (c *Client) RefExists(ctx context.Context, repo forge.Repo, ref string) (bool, error) {
	var resp *gl.Response
	var err error
	switch {
	case forge.BranchName(ref) != "":
		_, resp, err = c.api.Branches.GetBranch(pid(repo), forge.BranchName(ref), gl.WithContext(ctx))
	case forge.TagName(ref) != "":
		_, resp, err = c.api.Tags.GetTag(pid(repo), forge.TagName(ref), gl.WithContext(ctx))
	default:
		return false, fmt.Errorf("gitlab: %q is no branch or tag ref", ref)
	}
	if status(resp, err) == http.StatusNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("gitlab: asking for %s in %s: %w", ref, repo.FullName(), err)
	}
	return true, nil
}
