// Package github is the GitHub App driver of forge: Webhook verifies (X-Hub-Signature-256)
// and parses deliveries without I/O (parse.go, convert.go); Client reports check runs, replies,
// reacts, reads files and permissions through go-github, authenticated by ghinstallation.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// DefaultAPIURL is github.com's REST API root. GitHub Enterprise Server's is
// https://HOST/api/v3.
const DefaultAPIURL = "https://api.github.com"

// Config sets up the GitHub App client.
type Config struct {
	AppID      int64
	PrivateKey []byte // the App's private key, PEM
	// APIURL is the REST API root (OPENWRT_PPA_GITHUB_API_URL): empty for github.com, the GHES
	// root, or a fake server in tests.
	APIURL string
	// Transport carries every request (tokens included); nil means http.DefaultTransport.
	Transport http.RoundTripper
	Timeout   time.Duration // per request; 0 means 30 s
	Retry     Retry         // zero value: 5 tries, 1 s doubling to 60 s
	Logger    *slog.Logger
	Now       func() time.Time // for check timestamps; nil means time.Now
}

// Client is the GitHub driver: a GitHub App that reports checks, replies, reacts and reads
// repositories through go-github. Authentication is ghinstallation's: the App's JWT for /app
// endpoints and a per-installation token, cached and refreshed before it expires, for the rest.
// Safe for concurrent use.
type Client struct {
	apiURL string
	apps   *ghinstallation.AppsTransport
	app    *gh.Client // JWT-authenticated, for app endpoints
	base   http.RoundTripper
	retry  Retry
	log    *slog.Logger
	now    func() time.Time
	tmo    time.Duration

	mu       sync.Mutex
	installs map[int64]*gh.Client                // one per installation: each keeps its token cached
	tokens   map[int64]*ghinstallation.Transport // the same installations' token sources
}

var _ forge.Forge = (*Client)(nil)

// New returns a Client for the App.
func New(cfg Config) (*Client, error) {
	if cfg.AppID == 0 || len(cfg.PrivateKey) == 0 {
		return nil, errors.New("github: set OPENWRT_PPA_GITHUB_APP_ID and OPENWRT_PPA_GITHUB_PRIVATE_KEY_FILE (the App's id and its .pem key)")
	}
	c := &Client{
		apiURL:   strings.TrimRight(cfg.APIURL, "/"),
		base:     cfg.Transport,
		retry:    cfg.Retry.orDefault(),
		log:      cfg.Logger,
		now:      cfg.Now,
		tmo:      cfg.Timeout,
		installs: map[int64]*gh.Client{},
		tokens:   map[int64]*ghinstallation.Transport{},
	}
	if c.apiURL == "" {
		c.apiURL = DefaultAPIURL
	}
	if c.base == nil {
		c.base = http.DefaultTransport
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.tmo == 0 {
		c.tmo = 30 * time.Second
	}
	apps, err := ghinstallation.NewAppsTransport(c.base, cfg.AppID, cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github: reading the App's private key (a PEM RSA key from the App's settings): %w", err)
	}
	apps.BaseURL = c.apiURL
	c.apps = apps
	if c.app, err = c.newClient(apps); err != nil {
		return nil, err
	}
	return c, nil
}

// Name is forge.GitHub.
func (c *Client) Name() forge.Name { return forge.GitHub }

func (c *Client) newClient(rt http.RoundTripper) (*gh.Client, error) {
	api := c.apiURL + "/"
	upload := api
	if c.apiURL == DefaultAPIURL {
		upload = "https://uploads.github.com/"
	}
	cl, err := gh.NewClient(
		gh.WithHTTPClient(&http.Client{Transport: rt, Timeout: c.tmo}),
		gh.WithURLs(&api, &upload),
		gh.WithUserAgent("openwrt-ppa"),
	)
	if err != nil {
		return nil, fmt.Errorf("github: API URL %q: %w", c.apiURL, err)
	}
	return cl, nil
}

// installation returns the client acting as the App's installation on repo, looking the
// installation up with the App's JWT when the event did not name it.
func (c *Client) installation(ctx context.Context, repo forge.Repo) (*gh.Client, error) {
	cl, _, err := c.installationAuth(ctx, repo)
	return cl, err
}

// installationAuth is installation with the installation's token source.
func (c *Client) installationAuth(ctx context.Context, repo forge.Repo) (*gh.Client, *ghinstallation.Transport, error) {
	id := repo.Installation
	if id == 0 {
		var inst *gh.Installation
		err := c.do(ctx, "find installation", func() (*gh.Response, error) {
			var resp *gh.Response
			var err error
			inst, resp, err = c.app.Apps.GetRepositoryInstallation(ctx, repo.Owner, repo.Name)
			return resp, err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("github: finding the App's installation on %s (is the App installed there?): %w", repo.FullName(), err)
		}
		id = inst.GetID()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.installs[id]; ok {
		return cl, c.tokens[id], nil
	}
	itr := ghinstallation.NewFromAppsTransport(c.apps, id)
	// Without options ghinstallation posts the body "null", which the API description does not
	// allow; "{}" asks for the installation's full permissions just the same.
	itr.InstallationTokenOptions = &gh.InstallationTokenOptions{}
	cl, err := c.newClient(itr)
	if err != nil {
		return nil, nil, err
	}
	c.installs[id] = cl
	c.tokens[id] = itr
	return cl, itr, nil
}

var _ forge.CloneCredentialer = (*Client)(nil)

// CloneCredentials are the installation token, as GitHub takes it for git over HTTPS
// ("x-access-token" and the token). The token is cached and refreshed with the API's.
func (c *Client) CloneCredentials(ctx context.Context, repo forge.Repo) (string, string, error) {
	_, itr, err := c.installationAuth(ctx, repo)
	if err != nil {
		return "", "", err
	}
	tok, err := itr.Token(ctx)
	if err != nil {
		return "", "", fmt.Errorf("github: installation token for cloning %s: %w", repo.FullName(), err)
	}
	return "x-access-token", tok, nil
}
